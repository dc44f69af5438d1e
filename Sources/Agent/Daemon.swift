import ASN1
import Crypto
import Encoding
import Keystore
import Platform
import Protocol
import X509

/// `scep-agent run`: enroll if the keystore is empty, then renew before expiry, forever.
///
/// One loop, no threads: decide what is due, do it or sleep until it is due. Sleeping is one
/// blocking wait on the wall clock (no CPU, no periodic wake-ups); a signal or a clock change
/// wakes it to recompute. Failures back off exponentially with jitter; the identity in service
/// is never touched by a failure.
public struct Daemon<Host: AgentHost> {
    public var host: Host
    public var configuration: AgentConfiguration
    public let keystore: Keystore
    let random: RandomGenerator
    var backoff: Backoff
    var nextRetry: Int64? = nil
    var warnedAboutClock = false
    /// Before this (the build date), the wall clock is obviously unset: no RTC, no NTP yet.
    public var earliestPlausibleTime: Int64 = 1_793_491_200  // 2026-11-01T00:00:00Z
    /// Loaded at start and after each commit; the daemon's view of the identity in service.
    var identity: StoredIdentity?
    /// Why the keystore could not be read, if it could not: an attempt then fails (and backs off)
    /// rather than mistake a damaged keystore for first boot.
    var loadFailure: String? = nil
    /// When the last certificate was obtained: renewals never follow each other more closely
    /// than `RenewalSchedule.minimumSpacing` (--retry-min, or a tenth of a short certificate's
    /// lifetime), even if --renew-before exceeds the certificate's lifetime.
    var lastSuccess: Int64? = nil
    /// When to look for the next CA again, once in its rollover window.
    var nextCACheck: Int64 = 0

    /// Called on SIGHUP; returns the new configuration, or nil to keep the current one.
    public var reload: (() -> AgentConfiguration?)? = nil

    public init(host: Host, configuration: AgentConfiguration, keystore: Keystore, random: RandomGenerator) {
        self.host = host
        self.configuration = configuration
        self.keystore = keystore
        self.random = random
        backoff = Backoff(minimum: configuration.retryMinimum, maximum: configuration.retryMaximum)
    }

    /// What the loop does next.
    public enum Step: Equatable {
        case waitForClock(until: Int64)
        case enroll
        case renew
        case sleep(until: Int64)
    }

    /// Decides the next step from the identity in service and the time: pure, so tests check it
    /// directly at any simulated moment.
    public func nextStep(now: Int64) -> Step {
        if now < earliestPlausibleTime { return .waitForClock(until: now + 30) }
        if let retry = nextRetry, now < retry { return .sleep(until: retry) }
        guard let identity else { return .enroll }
        let certificate = identity.certificate
        var due = configuration.schedule.jitteredTime(notBefore: certificate.notBefore, notAfter: certificate.notAfter,
                                                      seed: Daemon.seed(certificate.publicKeyInfo))
        if let lastSuccess {
            due = max(due, lastSuccess + RenewalSchedule.minimumSpacing(retryMinimum: configuration.retryMinimum,
                                                                        notBefore: certificate.notBefore, notAfter: certificate.notAfter))
        }
        if now < due { return .sleep(until: due) }
        return .renew
    }

    /// Runs until SIGTERM or SIGINT; returns normally then.
    public mutating func run() {
        loadIdentity()
        // A rollover completed in an earlier run: the pin moved to the next CA.
        if let moved = keystore.readState()["ca_pin"], let pin = Hex.decode(moved), pin.count == 32 { configuration.pin = pin }
        host.logger.info("started", [("keystore", keystore.path),
                                     ("identity", identity.map { $0.certificate.serialHex } ?? "none")])
        while true {
            if let signal = host.pendingSignal(), handle(signal) { return }
            let now = host.now()
            if now >= earliestPlausibleTime { rollCAIfDue(now: now) }
            let step = nextStep(now: now)
            switch step {
            case .waitForClock(let until):
                if !warnedAboutClock {
                    host.logger.warn("the clock is not set; waiting for the time before judging certificates",
                                     [("now", DERTime.iso8601(now)), ("earliest_plausible", DERTime.iso8601(earliestPlausibleTime))])
                    warnedAboutClock = true
                }
                if handle(host.wait(until: until)) { return }
            case .sleep(let renewalTime):
                let until = min(renewalTime, caWakeTime(now: now) ?? renewalTime)
                recordState(result: nil, error: nil, next: renewalTime)
                host.logger.debug("sleeping", [("until", DERTime.iso8601(until))])
                if handle(host.wait(until: until)) { return }
            case .enroll, .renew:
                if attempt(step) { return }
            }
        }
    }

    /// One transaction. Returns true when the daemon should stop (SIGTERM during it).
    mutating func attempt(_ step: Step) -> Bool {
        var kind: CertificateTransaction.Kind = step == .renew ? .renew : .enroll
        if step == .renew, let identity, !identity.certificate.isValid(at: host.now()) {
            host.logger.warn("the certificate has expired; renewing anyway", [("not_after", DERTime.iso8601(identity.certificate.notAfter))])
        }
        if loadFailure != nil { loadIdentity() }
        while true {
            do throws(AgentFailure) {
                if let loadFailure { throw AgentFailure(.failed, loadFailure) }
                identity = try CertificateTransaction.run(kind, existing: identity, host: &host, keystore: keystore,
                                                          configuration: configuration, random: random)
                backoff.succeeded()
                nextRetry = nil
                lastSuccess = host.now()
                recordState(result: "success", error: nil, next: nil)
                return false
            } catch {
                if error.kind == .interrupted { return true }
                // An expired certificate whose renewal the server refuses: start over with the
                // factory challenge, if there is one (RFC 8894 section 2.5 leaves this to policy).
                if kind == .renew, error.serverRefused, let identity, !identity.certificate.isValid(at: host.now()),
                   (try? host.readChallenge()) != nil {
                    host.logger.warn("the certificate has expired and renewal was refused; falling back to a fresh PKCSReq with the challenge",
                                     [("detail", error.message)])
                    kind = .enroll
                    continue
                }
                let remaining = identity.map { max(0, $0.certificate.notAfter - host.now()) } ?? 0
                var delay = backoff.failed(randomUnit: randomUnit(), remainingValidity: remaining)
                // While the certificate in service is still valid, the next try comes before it
                // expires: half the time left at most (a short certificate's last chances).
                if remaining > 0 { delay = min(delay, max(1, remaining / 2)) }
                nextRetry = host.now() + delay
                host.logger.error(kind == .renew ? "renewal failed" : "enrollment failed",
                                  [("detail", error.message), ("retry_in", "\(delay)s"), ("failures", "\(backoff.failures)")])
                recordState(result: "failure", error: error.message, next: nextRetry)
                return false
            }
        }
    }

    /// Returns true when the daemon should stop.
    mutating func handle(_ reason: WakeReason) -> Bool {
        switch reason {
        case .deadline:
            return false
        case .clockChanged:
            host.logger.info("the clock changed; recomputing")
            return false
        case .terminate:
            host.logger.info("stopping")
            return true
        case .reload:
            if let newConfiguration = reload?() {
                configuration = newConfiguration
                backoff = Backoff(minimum: newConfiguration.retryMinimum, maximum: newConfiguration.retryMaximum)
                nextRetry = nil
                host.logger.info("configuration reloaded")
            } else {
                host.logger.warn("configuration reload failed; keeping the running configuration")
            }
            return false
        }
    }

    /// CA rollover (RFC 8894 section 4.7): within the current CA's last tenth of life (at least
    /// 30 days), fetch the next CA with GetNextCACert, verified against the current one, and keep
    /// it; once the current CA has expired, move the pin to it. Failures are logged and retried
    /// at the next wake; they never touch the identity in service.
    mutating func rollCAIfDue(now: Int64) {
        guard let anchor = identity?.chain.last, anchor.sha256Fingerprint == configuration.pin else { return }
        if now > anchor.notAfter, let next = keystore.readNextCA(), next.isValid(at: now) {
            configuration.pin = next.sha256Fingerprint
            var values = keystore.readState().values.filter { $0.0 != "ca_pin" }
            values.append(("ca_pin", Hex.encode(configuration.pin)))
            try? keystore.writeState(IdentityMetadata(values))
            host.logger.warn("the pinned CA has expired; switched to the next CA", [("ca_sha256", Hex.encode(configuration.pin))])
            return
        }
        let lead = max(30 * 86_400, (anchor.notAfter - anchor.notBefore) / 10)
        guard now >= anchor.notAfter - lead, keystore.readNextCA() == nil, now >= nextCACheck else { return }
        nextCACheck = now + 86_400
        do throws(AgentFailure) {
            var client = try host.makeClient()
            do throws(SCEPError) {
                guard try client.capabilities().supportsGetNextCACert else { return }
                let current = try client.caCertificates(pin: configuration.pin, raPins: configuration.raPins, now: now)
                guard let next = try client.nextCA(current: current, now: now) else { return }
                try? keystore.writeNextCA(next)
                host.logger.info("fetched the next CA ahead of the current one's expiry",
                                 [("subject", next.subject.rfc4514String), ("sha256", Hex.encode(next.sha256Fingerprint)),
                                  ("switch_after", DERTime.iso8601(anchor.notAfter))])
            } catch {
                host.logger.warn("GetNextCACert failed; will try again", [("detail", "\(error)")])
            }
        } catch {
            host.logger.warn("GetNextCACert failed; will try again", [("detail", error.message)])
        }
    }

    /// When the CA rollover needs a wake of its own: the current CA's expiry, once the next CA is
    /// in hand. Fetching it needs none: the daemon wakes for renewals far more often than the
    /// 30-day window, and checks then (at most daily).
    func caWakeTime(now: Int64) -> Int64? {
        guard let anchor = identity?.chain.last, anchor.sha256Fingerprint == configuration.pin,
              keystore.readNextCA() != nil else { return nil }
        return max(now + 1, anchor.notAfter + 1)
    }

    mutating func loadIdentity() {
        loadFailure = nil
        do { identity = try keystore.load() } catch {
            identity = nil
            loadFailure = "\(error)"
            host.logger.error("the keystore cannot be read", [("detail", "\(error)")])
        }
        for warning in keystore.takeWarnings() { host.logger.warn("keystore", [("detail", warning)]) }
    }

    func recordState(result: String?, error: String?, next: Int64?) {
        var values = keystore.readState().values.filter { $0.0 != "next_attempt" }
        if result != nil {
            values = values.filter { $0.0 != "last_attempt" && $0.0 != "last_result" && $0.0 != "last_error" }
            values.append(("last_attempt", DERTime.iso8601(host.now())))
            values.append(("last_result", result ?? ""))
            if let error { values.append(("last_error", error)) }
        }
        if let next { values.append(("next_attempt", DERTime.iso8601(next))) }
        do { try keystore.writeState(IdentityMetadata(values)) } catch {
            host.logger.warn("cannot record the daemon's state", [("detail", "\(error)")])
        }
    }

    func randomUnit() -> Double {
        guard let bytes = try? random.bytes(4) else { return 0.5 }
        let value = UInt32(bytes[0]) << 24 | UInt32(bytes[1]) << 16 | UInt32(bytes[2]) << 8 | UInt32(bytes[3])
        return Double(value) / 4_294_967_296.0
    }

    /// The per-device jitter seed: from the public key, unique per device and per certificate.
    public static func seed(_ publicKeyInfo: [UInt8]) -> UInt64 {
        var seed: UInt64 = 0xcbf29ce484222325
        for byte in publicKeyInfo {
            seed ^= UInt64(byte)
            seed = seed &* 0x100000001b3
        }
        return seed
    }
}
