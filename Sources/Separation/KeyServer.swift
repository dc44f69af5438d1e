import Agent
import ASN1
import Crypto
import Platform
import Protocol
import X509

/// The key process's side of a job: starts a network process, hands it the job, and answers its
/// requests from the `KeyAuthority` until it reports a result, dies, or runs out of time.
///
/// Everything the network process sends is treated as hostile: each message is bounded
/// (`Wire.maximumMessage`), parsed with the DER reader, and a malformed one ends the job; one
/// deadline covers the whole job, reading included, and SIGTERM ends it at once. The authority
/// decides what each request may have.
public struct KeyServer {
    public var logger: Logger
    /// Asked while waiting for the network process: true abandons the job (SIGTERM).
    public var interrupted: () -> Bool

    public init(logger: Logger, interrupted: @escaping () -> Bool = { false }) {
        self.logger = logger
        self.interrupted = interrupted
    }

    /// How long a job may take in all: every HTTP exchange of a transaction within --timeout,
    /// and slack for TLS and the key operations it waits for.
    static func allowance(_ job: NetworkJob) -> Int64 { job.timeoutSeconds * 6_000 + 30_000 }

    /// Runs `job` in a network process: `started`'s, when it has one not yet used, else a new
    /// one. `authority` answers key requests; without one (caps, getca, nextCA) any key request
    /// ends the job.
    public func run(_ job: NetworkJob, authority: KeyAuthority?, started: StartedNetworkProcess? = nil) throws(AgentFailure) -> NetworkResult {
        let (channel, child): (Channel, ChildProcess)
        if let parts = started?.take() { (channel, child) = parts } else { (channel, child) = try StartedNetworkProcess.spawn() }
        let deadline = monotonicMilliseconds() + KeyServer.allowance(job)
        do {
            let result = try serve(job, channel: channel, child: child, deadline: deadline, authority: authority)
            if KeyServer.reap(child, channel: channel, grace: 2_000) {
                // Nothing is left for it to do after its result: one that stays is not behaving.
                logger.warn("the network process did not exit after its result and was ended")
            }
            return result
        } catch {
            KeyServer.reap(child, channel: nil, grace: 0)
            throw error
        }
    }

    /// What one job may send besides its result: a handful of requests (a transaction needs two),
    /// and log lines up to a volume no honest job comes near. Past either, the job ends.
    static let maximumRequests = 4
    static let maximumLogLines = 256
    static let maximumLogBytes = 256 << 10

    private func serve(_ job: NetworkJob, channel: Channel, child: ChildProcess, deadline: Int64,
                       authority: KeyAuthority?) throws(AgentFailure) -> NetworkResult {
        try send(job.encoded(), to: channel, child: child, deadline: deadline)
        var requests = 0
        var logLines = 0
        var logBytes = 0
        while true {
            let message = try receive(channel, child: child, deadline: deadline, job: job)
            let reply: [UInt8]
            do throws(DERError) {
                var (kind, fields) = try Wire.decode(message)
                switch kind {
                case .log, .warn:
                    logLines += 1
                    logBytes += message.count
                    guard logLines <= KeyServer.maximumLogLines, logBytes <= KeyServer.maximumLogBytes else {
                        throw DERError(.invalid(.tooMany), at: 0)
                    }
                    if kind == .log {
                        let (level, event, details) = try KeyServer.logLine(&fields)
                        logger.log(level, event, details, source: "network")
                    } else {
                        let text = try fields.readText()
                        try fields.finish()
                        if let authority { authority.warn(text: text) } else { logger.warn("weak or fallback", [("detail", text)]) }
                    }
                    continue
                case .result:
                    return try NetworkResult(fields: &fields)
                default:
                    requests += 1
                    guard let authority, requests <= KeyServer.maximumRequests else { throw DERError(.invalid(.tooMany), at: 0) }
                    reply = KeyServer.answer(try KeyRequest(kind, &fields), authority: authority)
                }
            } catch {
                throw AgentFailure.link(.malformedMessage(error))
            }
            try send(reply, to: channel, child: child, deadline: deadline)
        }
    }

    /// Sends within the job's deadline: a network process that stops reading cannot block this
    /// one, and SIGTERM still ends the job.
    private func send(_ message: [UInt8], to channel: Channel, child: ChildProcess, deadline: Int64) throws(AgentFailure) {
        do { try channel.send(message, deadline: deadline, keepWaiting: { !interrupted() }) } catch {
            if error.isTimeout {
                throw monotonicMilliseconds() >= deadline ? AgentFailure.link(.stoppedReading)
                                                          : AgentFailure.stopped(.duringTransaction)
            }
            throw ended(child)
        }
    }

    /// The next message, within the job's deadline, checking for SIGTERM while it waits. A
    /// message started is read within the same deadline: a network process that drips its bytes
    /// cannot hold the key process longer than any other.
    private func receive(_ channel: Channel, child: ChildProcess, deadline: Int64, job: NetworkJob) throws(AgentFailure) -> [UInt8] {
        while !channel.isReadable(within: 200) {
            if interrupted() { throw AgentFailure.stopped(.duringTransaction) }
            if monotonicMilliseconds() >= deadline { throw overtime(job) }
        }
        let message: [UInt8]?
        do {
            message = try channel.receive(limit: Wire.maximumMessage, deadline: deadline, keepWaiting: { !interrupted() })
        } catch {
            if error.isTimeout { throw monotonicMilliseconds() >= deadline ? overtime(job) : AgentFailure.stopped(.duringTransaction) }
            throw AgentFailure.link(.brokenMessage(error))
        }
        guard let message else { throw ended(child) }
        return message
    }

    private func overtime(_ job: NetworkJob) -> AgentFailure {
        AgentFailure.link(.overtime(seconds: KeyServer.allowance(job) / 1000))
    }

    /// The failure for a network process that went away without a result. It is waited for
    /// briefly, then killed: one that closed its channel but lives on cannot hold this process.
    private func ended(_ child: ChildProcess) -> AgentFailure {
        KeyServer.reap(child, channel: nil, grace: 1_000)
        return AgentFailure(.failed, .networkProcess(child.wait()))
    }

    /// Waits up to `grace` milliseconds for the child to exit, then kills it. Returns whether
    /// it had to be killed.
    ///
    /// With `channel`, the wait is first for the channel's end, which the child's exit closes:
    /// a fixed 10 ms sleep between checks used to be most of what the second process added to
    /// each job, because a child that has just sent its result has rarely exited at the first
    /// check. The channel is watched 10 ms at a time with the child checked in between, in case
    /// its end outlives it. The exit follows the channel's end within microseconds, so the
    /// checks then start 0.1 ms apart and slow to 10 ms (for a child that closed its end but
    /// lives on). The child is not killed when its channel ends, as its exit may still be under
    /// way (under valgrind, the leak report the memory suite reads).
    @discardableResult
    static func reap(_ child: ChildProcess, channel: Channel?, grace: Int64) -> Bool {
        let deadline = monotonicMilliseconds() + grace
        if let channel {
            while monotonicMilliseconds() < deadline && !channel.isReadable(within: 10) && child.poll() == nil {}
        }
        var pauseMicroseconds: Int64 = 100
        while child.poll() == nil && monotonicMilliseconds() < deadline {
            sleepMicroseconds(pauseMicroseconds)
            pauseMicroseconds = min(pauseMicroseconds * 2, 10_000)
        }
        let killed = child.poll() == nil
        child.kill()
        child.wait()
        return killed
    }

    /// A forwarded log line. Keys are names the agent uses (lowercase, digits, underscore, at
    /// most 32 bytes) so none can carry a newline or a forged field; values are quoted by the
    /// logger as always.
    static func logLine(_ fields: inout DERReader) throws(DERError) -> (LogLevel, String, [(String, String)]) {
        let start = fields.offset
        let level = LogLevel(rawValue: try fields.readSmallInteger()) ?? .error
        let event = try fields.readText()
        var list = try fields.enterSequence()
        var details: [(String, String)] = []
        while !list.isAtEnd {
            guard details.count < 32 else { throw DERError(.invalid(.tooMany), at: list.offset) }
            let key = try list.readText()
            guard !key.isEmpty, key.utf8.count <= 32,
                  key.utf8.allSatisfy({ ($0 >= 0x61 && $0 <= 0x7a) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x5f }) else {
                throw DERError(.invalid(.integerOutOfRange), at: start)
            }
            details.append((key, String(decoding: try list.readText().utf8.prefix(1024), as: UTF8.self)))
        }
        try fields.finish()
        return (level, String(decoding: event.utf8.prefix(128), as: UTF8.self), details)
    }

    /// The reply to one request: `.reply` with what was asked, or `.failure` with why not.
    /// Nothing in an answer is secret: the request is encrypted, the rest is public or a yes/no.
    static func answer(_ request: KeyRequest, authority: KeyAuthority) -> [UInt8] {
        do throws(AgentFailure) {
            switch request {
            case .request(let certificates, let cipher, let digest, let supportsRenewal):
                let built = try authority.request(certificates: certificates, cipher: cipher, digest: digest, supportsRenewal: supportsRenewal)
                return reply { writer in
                    writer.writeOctetString(built.message)
                    writer.writeText(built.messageType.rawValue)
                    writer.writeText(built.transactionID)
                    writer.writeOctetString(built.senderNonce)
                    writer.write(built.subject)
                    writer.writeEncoded(built.signer.der)
                    writer.writeOctetString(built.expectedPublicKey)
                }
            case .deliver(let reply):
                let end = try authority.deliver(reply: reply)
                return self.reply { $0.writeBoolean(end == .pending) }
            }
        } catch {
            return Wire.encode(.failure) { writer in
                // A network process cannot make the key process believe it was interrupted.
                writer.writeInteger((error.kind == .interrupted ? AgentFailure.Kind.failed : error.kind).wireValue)
                writer.writeText(error.message)
            }
        }
    }

    private static func reply(_ body: (inout DERWriter) -> Void) -> [UInt8] {
        Wire.encode(.reply, body)
    }
}

/// A request from the network process, parsed and bounded before the authority sees it.
enum KeyRequest {
    case request([Certificate], ContentCipher, DigestAlgorithm, supportsRenewal: Bool)
    case deliver([UInt8])

    /// At most this many certificates in a request: more than any CA bag.
    static let maximumCertificates = 16

    init(_ kind: Wire.Kind, _ fields: inout DERReader) throws(DERError) {
        let start = fields.offset
        switch kind {
        case .request:
            var list: [Certificate] = []
            for der in try fields.readList(limit: KeyRequest.maximumCertificates) { list.append(try Certificate(derEncoded: der)) }
            guard let cipher = ContentCipher.named(try fields.readText()),
                  let digest = DigestAlgorithm.named(try fields.readText()) else { throw DERError(.invalid(.integerOutOfRange), at: start) }
            self = .request(list, cipher, digest, supportsRenewal: try fields.readBoolean())
        case .deliver:
            self = .deliver(try fields.readBytes())
        default:
            throw DERError(.invalid(.integerOutOfRange), at: start)
        }
        try fields.finish()
    }
}
