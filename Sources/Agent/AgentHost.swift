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

    public init(pin: [UInt8], subject: DistinguishedName?, keyType: KeyType? = nil, reuseKey: Bool,
                extensions: [CertificateExtension], schedule: RenewalSchedule, pollInterval: Int64, pollTimeout: Int64,
                retryMinimum: Int64, retryMaximum: Int64, allowWeakCrypto: Bool, hook: String?, consumeChallenge: Bool,
                raPins: [[UInt8]] = []) {
        self.pin = pin
        self.subject = subject
        self.keyType = keyType
        self.raPins = raPins
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

/// A failed step, classified so the command line can choose an exit status.
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

    public let kind: Kind
    public let message: String
    /// For the daemon: the server refused (FAILURE), as opposed to being unreachable.
    public let serverRefused: Bool

    public init(_ kind: Kind, _ message: String, serverRefused: Bool = false) {
        self.kind = kind
        self.message = message
        self.serverRefused = serverRefused
    }

    init(_ error: SCEPError) {
        if case .serverFailure = error {
            self.init(.failed, "\(error)", serverRefused: true)
        } else {
            self.init(.failed, "\(error)")
        }
    }
}

/// Everything with side effects the agent needs: the clock, sleeping, the server, the challenge,
/// publishing and hooks. The real host uses the platform; tests use a simulated clock and an
/// in-process server, so the daemon's scheduling runs in milliseconds.
public protocol AgentHost {
    associatedtype Transport: SCEPTransport

    var logger: Logger { get }
    /// Wall-clock seconds.
    func now() -> Int64
    /// Sleeps until `deadline` (wall clock) unless a signal or clock change comes first.
    mutating func wait(until deadline: Int64) -> WakeReason
    /// A signal that arrived while busy, if any.
    mutating func pendingSignal() -> WakeReason?
    func makeClient() throws(AgentFailure) -> SCEPClient<Transport>
    /// The factory challenge, read only when needed; nil when none is configured.
    func readChallenge() throws(AgentFailure) -> SecretBytes?
    /// Removes the challenge after a successful first enrollment (--consume-challenge).
    func consumeChallenge()
    /// Writes the published copies after a commit.
    func publish(_ identity: StoredIdentity) throws(AgentFailure)
    /// Runs the --hook command; returns its exit status, nil if it could not run.
    func runHook(_ command: String, environment: [(String, String)]) -> Int32?
}
