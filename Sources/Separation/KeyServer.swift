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
/// (`Wire.maximumMessage`), parsed with the DER reader, and a malformed one ends the job. The
/// authority decides what each request may have.
public struct KeyServer {
    public var logger: Logger
    /// Asked while waiting for the network process: true abandons the job (SIGTERM).
    public var interrupted: () -> Bool

    public init(logger: Logger, interrupted: @escaping () -> Bool = { false }) {
        self.logger = logger
        self.interrupted = interrupted
    }

    /// Runs `job` in a new network process. `authority` answers key requests; without one (caps,
    /// getca, nextCA) any key request ends the job.
    public func run(_ job: NetworkJob, authority: KeyAuthority?) throws(AgentFailure) -> NetworkResult {
        let channel: Channel
        let child: ChildProcess
        do {
            let (mine, theirs) = try Channel.pair()
            child = try ChildProcess.spawnSelf(role: NetworkProcess.role, channel: theirs)
            channel = mine
            // `theirs` closes here, as it goes out of scope: only the child holds it now, so
            // the child's death reads as the end of the channel.
        } catch {
            throw AgentFailure(.failed, .system(error))
        }
        do {
            let result = try serve(job, channel: channel, child: child, authority: authority)
            reap(child, grace: 2_000)
            return result
        } catch {
            reap(child, grace: 0)
            throw error
        }
    }

    private func serve(_ job: NetworkJob, channel: Channel, child: ChildProcess,
                       authority: KeyAuthority?) throws(AgentFailure) -> NetworkResult {
        do { try channel.send(job.encoded()) } catch { throw ended(child) }
        // Time the network process may spend between answers: every HTTP exchange of the job
        // within --timeout, and slack for TLS and the key operations it waits for.
        var waiting = job.timeoutSeconds * 6_000 + 30_000
        while true {
            let started = monotonicMilliseconds()
            while !channel.isReadable(within: 200) {
                if interrupted() { throw AgentFailure(.interrupted, "stopped during a transaction") }
                if monotonicMilliseconds() - started > waiting {
                    throw AgentFailure(.failed, "the network process took longer than \(waiting / 1000)s; ended it")
                }
            }
            waiting -= monotonicMilliseconds() - started
            let message: [UInt8]?
            do { message = try channel.receive(limit: Wire.maximumMessage, deadline: monotonicMilliseconds() + 10_000) } catch {
                throw AgentFailure(.failed, "the network process sent a broken message: \(error)")
            }
            guard let message else { throw ended(child) }
            let reply: SecretBytes
            do throws(DERError) {
                var (kind, fields) = try Wire.decode(message)
                switch kind {
                case .log:
                    let (level, event, details) = try KeyServer.logLine(&fields)
                    logger.log(level, event, details)
                    continue
                case .warn:
                    let text = try fields.readText()
                    try fields.finish()
                    if let authority { authority.warn(text: text) } else { logger.warn("weak or fallback", [("detail", text)]) }
                    continue
                case .result:
                    return try NetworkResult(fields: &fields)
                default:
                    guard let authority else { throw DERError(.invalid(.integerOutOfRange), at: 0) }
                    reply = KeyServer.answer(try KeyRequest(kind, &fields), authority: authority)
                }
            } catch {
                throw AgentFailure(.failed, "the network process sent a malformed message (\(error)); ended it")
            }
            defer { reply.wipe() }
            do { try reply.withBytes { (bytes) throws(SystemError) in try channel.send(bytes) } } catch { throw ended(child) }
        }
    }

    /// The failure for a network process that went away without a result.
    private func ended(_ child: ChildProcess) -> AgentFailure {
        AgentFailure(.failed, .networkProcess(child.wait()))
    }

    /// Waits up to `grace` milliseconds for the child to exit, then kills it.
    private func reap(_ child: ChildProcess, grace: Int64) {
        let deadline = monotonicMilliseconds() + grace
        while child.poll() == nil && monotonicMilliseconds() < deadline { sleepMilliseconds(10) }
        child.kill()
        child.wait()
    }

    static func logLine(_ fields: inout DERReader) throws(DERError) -> (LogLevel, String, [(String, String)]) {
        let level = LogLevel(rawValue: try fields.readSmallInteger()) ?? .error
        let event = try fields.readText()
        var list = try fields.enterSequence()
        var details: [(String, String)] = []
        while !list.isAtEnd {
            guard details.count < 32 else { throw DERError(.invalid(.tooMany), at: list.offset) }
            details.append((try list.readText(), try list.readText()))
        }
        try fields.finish()
        return (level, event, details)
    }

    /// The reply to one request: `.reply` with what was asked, or `.failure` with why not.
    static func answer(_ request: KeyRequest, authority: KeyAuthority) -> SecretBytes {
        do throws(AgentFailure) {
            switch request {
            case .key(let role):
                let key = try authority.key(for: role)
                return reply { writer in
                    writer.writeText(key.type.name)
                    writer.writeOctetString(key.publicKeyInfo)
                    writer.writeText(key.storage)
                }
            case .sign(let role, let digest, let algorithm):
                let signature = try authority.sign(role: role, digest: digest, algorithm: algorithm)
                return reply { $0.writeOctetString(signature) }
            case .decrypt(let role, let encryptedKey):
                let key = try authority.decrypt(role: role, encryptedKey: encryptedKey)
                return reply { $0.writeSecret(key) }
            case .agree(let role, let point):
                let secret = try authority.agree(role: role, peerPoint: point)
                return reply { $0.writeSecret(secret) }
            case .deriveKey(let salt, let iterations, let length, let digest):
                guard let password = authority.password() else { throw AgentFailure(.failed, "there is no challenge to derive from") }
                let key: SecretBytes
                do { key = try password.deriveKey(salt: salt, iterations: iterations, keyLength: length, digest: digest) } catch {
                    throw AgentFailure(.failed, .crypto(error))
                }
                return reply { $0.writeSecret(key) }
            case .seal(let certificates, let cipher, let digest):
                let envelope = try authority.sealedRequest(certificates: certificates, cipher: cipher, digest: digest)
                return reply { $0.writeOctetString(envelope) }
            case .commit(let certificate, let chain):
                try authority.commit(certificate: certificate, chain: chain)
                return reply { _ in }
            case .notePending(let record):
                try authority.notePending(record)
                return reply { _ in }
            }
        } catch {
            return SecretBytes(Wire.encode(.failure) { writer in
                writer.writeInteger(error.kind.wireValue)
                writer.writeText(error.message)
            })
        }
    }

    private static func reply(_ body: (inout DERWriter) -> Void) -> SecretBytes {
        SecretBytes(Wire.encode(.reply, body))
    }
}

/// A request from the network process, parsed and bounded before the authority sees it.
enum KeyRequest {
    case key(KeyAuthority.KeyRole)
    case sign(KeyAuthority.KeyRole, digest: [UInt8], algorithm: DigestAlgorithm)
    case decrypt(KeyAuthority.KeyRole, encryptedKey: [UInt8])
    case agree(KeyAuthority.KeyRole, point: [UInt8])
    case deriveKey(salt: [UInt8], iterations: Int, length: Int, digest: DigestAlgorithm)
    case seal([Certificate], ContentCipher, DigestAlgorithm)
    case commit(Certificate, chain: [Certificate])
    case notePending(PendingRecord)

    init(_ kind: Wire.Kind, _ fields: inout DERReader) throws(DERError) {
        let start = fields.offset
        func bounded(_ bytes: [UInt8], _ limit: Int) throws(DERError) -> [UInt8] {
            guard bytes.count <= limit else { throw DERError(.invalid(.integerOutOfRange), at: start) }
            return bytes
        }
        func role() throws(DERError) -> KeyAuthority.KeyRole {
            guard let role = KeyAuthority.KeyRole(wireValue: try fields.readSmallInteger()) else {
                throw DERError(.invalid(.integerOutOfRange), at: start)
            }
            return role
        }
        func digest() throws(DERError) -> DigestAlgorithm {
            guard let digest = DigestAlgorithm.named(try fields.readText()) else { throw DERError(.invalid(.integerOutOfRange), at: start) }
            return digest
        }
        func certificates() throws(DERError) -> [Certificate] {
            var parsed: [Certificate] = []
            for der in try fields.readList(limit: NetworkResult.maximumItems) { parsed.append(try Certificate(derEncoded: der)) }
            return parsed
        }
        switch kind {
        case .transactionKey: self = .key(.transaction)
        case .currentKey: self = .key(.current)
        case .sign:
            let role = try role()
            let hash = try bounded(try fields.readBytes(), 64)
            self = .sign(role, digest: hash, algorithm: try digest())
        case .decrypt:
            let role = try role()
            self = .decrypt(role, encryptedKey: try bounded(try fields.readBytes(), 1024))
        case .agree:
            let role = try role()
            self = .agree(role, point: try bounded(try fields.readBytes(), 133))
        case .deriveKey:
            let salt = try bounded(try fields.readBytes(), 64)
            let iterations = try fields.readSmallInteger()
            let length = try fields.readSmallInteger()
            guard (1...64).contains(length) else { throw DERError(.invalid(.integerOutOfRange), at: start) }
            self = .deriveKey(salt: salt, iterations: iterations, length: length, digest: try digest())
        case .sealRequest:
            let list = try certificates()
            guard let cipher = ContentCipher.named(try fields.readText()) else { throw DERError(.invalid(.integerOutOfRange), at: start) }
            self = .seal(list, cipher, try digest())
        case .commit:
            let certificate = try Certificate(derEncoded: try fields.readBytes())
            self = .commit(certificate, chain: try certificates())
        case .notePending:
            self = .notePending(try fields.readPendingRecord())
        default:
            throw DERError(.invalid(.integerOutOfRange), at: start)
        }
        try fields.finish()
    }
}
