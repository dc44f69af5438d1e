import ASN1
import Crypto
import Keystore
import Platform
import Protocol
import X509

/// What the agent is configured to do; the CLI builds it from the settings.
public struct AgentConfiguration {
    public var pin: [UInt8]
    public var subject: DistinguishedName?
    /// The type of new keys; nil keeps the type of the key in service (RSA-2048 on first boot).
    public var keyType: KeyType?
    /// Where new keys live; nil keeps the home of the key in service (a file on first boot).
    public var keyStorage: KeyStorage?
    public var reuseKey: Bool
    public var extensions: [CertificateExtension]
    public var schedule: RenewalSchedule
    public var pollInterval: Int64
    public var pollTimeout: Int64
    public var retryMinimum: Int64
    public var retryMaximum: Int64
    public var allowWeakCrypto: Bool
    public var hook: String?
    public var consumeChallenge: Bool
    /// `--ra-fingerprint`: when set, only these certificates may receive requests or sign replies.
    public var raPins: [[UInt8]]
    /// Whether the transport authenticates the server (https): only then may an end-entity
    /// certificate nothing marks as an RA receive the request.
    public var authenticatedServer: Bool

    public init(pin: [UInt8], subject: DistinguishedName?, keyType: KeyType? = nil, keyStorage: KeyStorage? = nil, reuseKey: Bool,
                extensions: [CertificateExtension], schedule: RenewalSchedule, pollInterval: Int64, pollTimeout: Int64,
                retryMinimum: Int64, retryMaximum: Int64, allowWeakCrypto: Bool, hook: String?, consumeChallenge: Bool,
                raPins: [[UInt8]] = [], authenticatedServer: Bool = false) {
        self.pin = pin
        self.subject = subject
        self.keyType = keyType
        self.keyStorage = keyStorage
        self.raPins = raPins
        self.authenticatedServer = authenticatedServer
        self.reuseKey = reuseKey
        self.extensions = extensions
        self.schedule = schedule
        self.pollInterval = pollInterval
        self.pollTimeout = pollTimeout
        self.retryMinimum = retryMinimum
        self.retryMaximum = retryMaximum
        self.allowWeakCrypto = allowWeakCrypto
        self.hook = hook
        self.consumeChallenge = consumeChallenge
    }
}

/// A failed step: what went wrong, kept as the error it was until it is shown, and how the
/// command line reports it (its exit status).
public struct AgentFailure: Error {
    public enum Kind: Equatable, Sendable {
        /// The configuration cannot work (missing challenge file, ...): exit 2.
        case configuration
        /// The server refused, a reply did not verify, the network failed...: exit 1.
        case failed
        /// Accepted but not issued before the poll timeout: exit 3.
        case pending
        /// SIGTERM or SIGINT arrived: stop, exit 0.
        case interrupted
    }

    public enum Cause: Sendable {
        case scep(SCEPError)
        case keystore(KeystoreError)
        case crypto(CryptoError)
        case system(SystemError)
        /// The network process ended without a result (crashed, or was killed by its sandbox).
        case networkProcess(ChildExit)
        /// What the network process reported: its message, and whether the server refused (a
        /// FAILURE reply) rather than being out of reach or answering wrongly.
        case network(String, serverRefused: Bool)
        /// The key process's failure as it worded it: like the network process's, the text is
        /// made on the far side of the socketpair.
        case keyProcess(String)
        /// A message between the two processes broke their protocol.
        case link(LinkFault)
        /// A transaction's steps came out of order (the network side's word against this side's state).
        case outOfOrder(OutOfOrder)
        /// The server still answers PENDING after --poll-timeout.
        case stillPending(transactionID: String)
        /// SIGTERM or SIGINT arrived.
        case stopped(Stop)
        /// A setting the command line found unusable, in its words (it is the edge that reads them).
        case setting(String)
        /// Enrollment needs a subject: --subject, or the certificate in service.
        case noSubject
        /// A renewal needs an identity in service.
        case noIdentity(keystore: String)
        /// The network side proposed algorithms the configuration does not allow.
        case weakAlgorithms(cipher: String, digest: String)
        /// The issued certificate does not chain to the pinned CA.
        case noPathToCA(PathError)
        /// A CA certificate the network process fetched does not parse.
        case malformedCACertificate(DERError)
        /// The identity is committed and in service, but a published copy was not written.
        indirect case publishing(Cause)
    }

    /// What went wrong between the key process and the network process.
    public enum LinkFault: Sendable {
        case keyProcessClosed
        case malformedAnswer(DERError)
        /// The key process answered with a message kind that is not an answer.
        case unexpectedAnswer(Int)
        case malformedMessage(DERError)
        case brokenMessage(SystemError)
        case stoppedReading
        case overtime(seconds: Int64)
        /// The network process answered `request` with another kind of result.
        case unexpectedResult(request: String)
    }

    /// A step the key side refuses because its own state does not allow it.
    public enum OutOfOrder: Sendable {
        case issuedNeverCommitted
        case pendingNeverReported
        case noPendingTransaction
        case secondRequest
        case secondReply
        case replyWithoutRequest
        case noTransactionKey
        case renewalIdentityGone
        case committedNothing
    }

    public enum Stop: Sendable {
        case duringTransaction
        case whileWaitingForPending
    }

    public let kind: Kind
    public let cause: Cause

    public init(_ kind: Kind, _ cause: Cause) {
        self.kind = kind
        self.cause = cause
    }

    public init(_ error: SCEPError) {
        self.init(.failed, .scep(error))
    }

    /// An interruption by SIGTERM or SIGINT.
    public static func stopped(_ stop: Stop) -> AgentFailure {
        AgentFailure(.interrupted, .stopped(stop))
    }

    /// A failure of the link between the processes.
    public static func link(_ fault: LinkFault) -> AgentFailure {
        AgentFailure(.failed, .link(fault))
    }

    /// A step out of order.
    public static func outOfOrder(_ step: OutOfOrder) -> AgentFailure {
        AgentFailure(.failed, .outOfOrder(step))
    }

    /// The server refused (FAILURE), as opposed to being unreachable or answering wrongly.
    public var serverRefused: Bool {
        switch cause {
        case .scep(.serverFailure): return true
        case .network(_, let refused): return refused
        default: return false
        }
    }

    /// The one line a person reads: the only place a failure becomes text.
    public var message: String { Self.text(cause) }

    private static func text(_ cause: Cause) -> String {
        switch cause {
        case .scep(let error): "\(error)"
        case .keystore(let error): "\(error)"
        case .crypto(let error): "\(error)"
        case .system(let error): "\(error)"
        case .networkProcess(let exit):
            switch exit {
            case .signaled(let signal) where exit.isSandboxKill:
                "the network process made a system call its sandbox forbids and was killed (signal \(signal))"
            case .signaled(let signal): "the network process crashed (signal \(signal)); nothing was committed"
            case .exited where exit == ChildExit.sandboxRefused:
                "the network process could not enter its sandbox (see the log); nothing was sent"
            case .exited(let status): "the network process ended without a result (status \(status)); nothing was committed"
            }
        case .network(let text, _): text
        case .keyProcess(let text): text
        case .link(let fault): text(fault)
        case .outOfOrder(let step): text(step)
        case .stillPending(let transaction):
            "the server has not issued the certificate yet (PENDING, transaction \(transaction)); polling timed out"
        case .stopped(.duringTransaction): "stopped during a transaction"
        case .stopped(.whileWaitingForPending): "stopped while waiting for a PENDING request"
        case .setting(let text): text
        case .noSubject: "enrollment needs --subject"
        case .noIdentity(let keystore): "the keystore \(keystore) holds no identity; run 'enroll' first"
        case .weakAlgorithms(let cipher, let digest): "refused to build the request with \(cipher) and \(digest)"
        case .noPathToCA(let error): "the issued certificate has no valid path to the pinned CA: \(error)"
        case .malformedCACertificate(let error): "GetCACert: a malformed certificate: \(error)"
        case .publishing(let cause): "the identity is committed, but a published copy failed: " + text(cause)
        }
    }

    private static func text(_ fault: LinkFault) -> String {
        switch fault {
        case .keyProcessClosed: "the key process closed the channel"
        case .malformedAnswer(let error): "the key process's answer is malformed: \(error)"
        case .unexpectedAnswer(let kind): "the key process answered with message \(kind)"
        case .malformedMessage(let error): "the network process sent a malformed or excessive message (\(error)); ended it"
        case .brokenMessage(let error): "the network process sent a broken message: \(error)"
        case .stoppedReading: "the network process stopped reading; ended it"
        case .overtime(let seconds): "the network process took longer than \(seconds)s; ended it"
        case .unexpectedResult(let request): "the network process answered \(request) with another kind of result"
        }
    }

    private static func text(_ step: OutOfOrder) -> String {
        switch step {
        case .issuedNeverCommitted: "the network side claimed an issued certificate that was never committed"
        case .pendingNeverReported: "the network side claimed a pending transaction it never reported"
        case .noPendingTransaction: "there is no pending transaction to poll"
        case .secondRequest: "the network side asked for a second request"
        case .secondReply: "the network side delivered a second reply"
        case .replyWithoutRequest: "there is no request this reply could answer"
        case .noTransactionKey: "this transaction has no key"
        case .renewalIdentityGone: "the pending renewal's identity is no longer in service"
        case .committedNothing: "the transaction committed nothing"
        }
    }
}

/// Everything with side effects the agent needs besides its keys: the clock, sleeping and
/// signals, the network side of transactions, publishing and hooks. The real host uses the
/// platform and runs each transaction's network side in a sandboxed process; tests use a
/// simulated clock and run it in process, so the daemon's scheduling runs in milliseconds.
public protocol AgentHost {
    var logger: Logger { get }
    /// Wall-clock seconds.
    func now() -> Int64
    /// Sleeps until `deadline` (wall clock) unless a signal or clock change comes first.
    mutating func wait(until deadline: Int64) -> WakeReason
    /// A signal that arrived while busy, if any.
    mutating func pendingSignal() -> WakeReason?
    /// One transaction's network side, answered by `authority` (on which `begin` was called).
    mutating func exchange(_ kind: TransactionKind, authority: KeyAuthority) throws(AgentFailure) -> TransactionOutcome
    /// GetNextCACert: the next CA, verified against `authority`'s pin by the key side; nil when
    /// the server has none to offer.
    mutating func nextCA(authority: KeyAuthority) throws(AgentFailure) -> Certificate?
    /// Removes the challenge file after a successful first enrollment (--consume-challenge).
    func consumeChallenge() throws(AgentFailure)
    /// Writes the published copies after a commit.
    func publish(_ identity: StoredIdentity) throws(AgentFailure)
    /// Runs the --hook command; true when it ran and exited 0.
    mutating func runHook(_ command: String, environment: [(String, String)]) -> Bool
    /// Writes the --metrics-file, when one is configured.
    mutating func recordMetrics(_ metrics: AgentMetrics)
}
