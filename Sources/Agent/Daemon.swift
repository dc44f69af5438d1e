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
/// is never touched by a failure. The loop runs in the key process; each transaction's network
/// side runs where the host puts it (a sandboxed process of its own, in production).
public struct Daemon<Host: AgentHost> {
    public var host: Host
    public let authority: KeyAuthority
    var backoff: Backoff
    var nextRetry: Int64? = nil
    var warnedAboutClock = false
    /// Before this (the build date), the wall clock is obviously unset: no RTC, no NTP yet.
    public var earliestPlausibleTime: Int64 = 1_793_491_200  // 2026-11-01T00:00:00Z
    /// Why the keystore could not be read, if it could not: an attempt then fails (and backs off)
    /// rather than mistake a damaged keystore for first boot.
    var loadFailure: KeystoreError? = nil
    /// When the last certificate was obtained: renewals never follow each other more closely
    /// than `RenewalSchedule.minimumSpacing` (--retry-min, or a tenth of a short certificate's
    /// lifetime), even if --renew-before exceeds the certificate's lifetime.
    var lastSuccess: Int64? = nil
    /// When to look for the next CA again, once in its rollover window.
    var nextCACheck: Int64 = 0
    /// A committed identity whose published copies (and so its hook) are still owed: publishing
    /// is retried, with backoff; the identity is never enrolled again for it.
    var publishOwed = false
    /// When to poll the pending transaction next.
    var nextPoll: Int64? = nil

    /// Called on SIGHUP; returns the new configuration, or nil to keep the current one.
    public var reload: (() -> AgentConfiguration?)? = nil

    public init(host: Host, authority: KeyAuthority) {
        self.host = host
        self.authority = authority
        backoff = Backoff(minimum: authority.configuration.retryMinimum, maximum: authority.configuration.retryMaximum)
    }

    public var configuration: AgentConfiguration {
        get { authority.configuration }
        nonmutating set { authority.configuration = newValue }
    }

    public var keystore: Keystore { authority.keystore }
    var identity: StoredIdentity? { authority.identity }

    /// What the loop does next.
    public enum Step: Equatable {
        case waitForClock(until: Int64)
        case enroll
        case renew
        /// CertPoll for the pending transaction.
        case poll
        /// Write the published copies the last commit could not.
        case publish
        case sleep(until: Int64)
    }

    /// Decides the next step from the identity in service and the time: pure, so tests check it
    /// directly at any simulated moment.
    public func nextStep(now: Int64) -> Step {
        if now < earliestPlausibleTime { return .waitForClock(until: now + 30) }
        if let retry = nextRetry, now < retry { return .sleep(until: retry) }
        if publishOwed { return .publish }
        if let pending = authority.pending {
            if let poll = nextPoll, now < poll, now < pending.record.deadline(timeout: configuration.pollTimeout) { return .sleep(until: poll) }
            return .poll
        }
        guard let identity else { return .enroll }
        let certificate = identity.certificate
        var due = configuration.schedule.renewalTime(of: certificate)
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
                                     ("identity", identity.map { $0.certificate.serialHex } ?? "none"),
                                     ("pending", authority.pending?.record.transactionID ?? "none")])
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
            case .sleep(let wakeTime):
                let until = min(wakeTime, caWakeTime(now: now) ?? wakeTime)
                recordState(result: nil, error: nil, next: wakeTime)
                host.logger.debug("sleeping", [("until", DERTime.iso8601(until))])
                if handle(host.wait(until: until)) { return }
            case .publish:
                retryPublishing()
            case .enroll, .renew, .poll:
                if attempt(step) { return }
            }
        }
    }

    /// One transaction. Returns true when the daemon should stop (SIGTERM during it).
    mutating func attempt(_ step: Step) -> Bool {
        var kind: TransactionKind = step == .renew ? .renew : (step == .poll ? .poll : .enroll)
        if step == .renew, let identity, !identity.certificate.isValid(at: host.now()) {
            host.logger.warn("the certificate has expired; renewing anyway", [("not_after", DERTime.iso8601(identity.certificate.notAfter))])
        }
        if loadFailure != nil { loadIdentity() }
        while true {
            do throws(AgentFailure) {
                if let loadFailure { throw AgentFailure(.failed, .keystore(loadFailure)) }
                if kind == .poll, let pending = authority.pending, host.now() >= pending.record.deadline(timeout: configuration.pollTimeout) {
                    // RFC 8894 section 5.2: after too long, give up on it and send a fresh request.
                    authority.abandonPending()
                    nextPoll = nil
                    throw AgentFailure(.pending, .stillPending(transactionID: pending.record.transactionID))
                }
                authority.begin(kind)
                switch try host.exchange(kind, authority: authority) {
                case .pending(let record):
                    nextPoll = host.now() + configuration.pollInterval
                    host.logger.info("pending", [("transaction", record.transactionID), ("next_poll_in", "\(configuration.pollInterval)s")])
                    recordState(result: "pending", error: nil, next: nextPoll)
                    return false
                case .issued:
                    guard let committed = authority.committed else { throw AgentFailure.outOfOrder(.committedNothing) }
                    nextPoll = nil
                    backoff.succeeded()
                    nextRetry = nil
                    lastSuccess = host.now()
                    recordState(result: "success", error: nil, next: nil)
                    do { try AfterCommit.run(committed, kind: kind, host: &host, authority: authority) } catch {
                        // The identity is in service; only the copies are owed.
                        publishOwed = true
                        failed(error, kind: .publish)
                    }
                    return false
                }
            } catch {
                if error.kind == .interrupted { return true }
                // An expired certificate whose renewal the server refuses: start over with the
                // factory challenge, if there is one (RFC 8894 section 2.5 leaves this to policy).
                if kind == .renew, error.serverRefused, let identity, !identity.certificate.isValid(at: host.now()),
                   authority.challenge != nil {
                    host.logger.warn("the certificate has expired and renewal was refused; falling back to a fresh PKCSReq with the challenge",
                                     [("detail", error.message)])
                    kind = .enroll
                    continue
                }
                // A server that refuses a pending transaction will not issue it later.
                if kind == .poll && error.serverRefused {
                    authority.abandonPending()
                    nextPoll = nil
                }
                failed(error, kind: kind == .renew ? .renew : .enroll)
                if kind == .enroll && error.serverRefused { noteChallengeRefused(error) }
                return false
            }
        }
    }

    /// Records a failure and when the next try comes.
    mutating func failed(_ error: AgentFailure, kind: Step) {
        let remaining = identity.map { max(0, $0.certificate.notAfter - host.now()) } ?? 0
        var delay = backoff.failed(randomUnit: randomUnit(), remainingValidity: remaining)
        // While the certificate in service is still valid, the next try comes before it
        // expires: half the time left at most (a short certificate's last chances), but never
        // sooner than --retry-min, so a server that is down is not hammered as expiry nears.
        if remaining > 0 { delay = min(delay, max(configuration.retryMinimum, remaining / 2)) }
        nextRetry = host.now() + delay
        let event = kind == .publish ? "publishing failed" : (kind == .renew ? "renewal failed" : "enrollment failed")
        host.logger.error(event, [("detail", error.message), ("retry_in", "\(delay)s"), ("failures", "\(backoff.failures)")])
        recordState(result: kind == .publish ? "publish-failure" : "failure", error: error.message, next: nextRetry)
    }

    /// Publishing owed from the last commit, and then the hook.
    mutating func retryPublishing() {
        guard let identity else {
            publishOwed = false
            return
        }
        do throws(AgentFailure) {
            try AfterCommit.publishAndRunHook(identity, host: &host, authority: authority)
            publishOwed = false
            backoff.succeeded()
            nextRetry = nil
            recordState(result: "success", error: nil, next: nil)
            host.logger.info("published", [("serial", identity.certificate.serialHex)])
        } catch {
            failed(error, kind: .publish)
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
        if now > anchor.notAfter, let next = keystore.readNextCA(), (try? PathValidation.validateAnchor(next, now: now)) != nil {
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
            guard let next = try host.nextCA(authority: authority) else { return }
            try? keystore.writeNextCA(next)
            host.logger.info("fetched the next CA ahead of the current one's expiry",
                             [("subject", next.subject.rfc4514String), ("sha256", Hex.encode(next.sha256Fingerprint)),
                              ("switch_after", DERTime.iso8601(anchor.notAfter))])
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
        do { try authority.load() } catch {
            loadFailure = error
            host.logger.error("the keystore cannot be read", [("detail", "\(error)")])
        }
        for warning in keystore.takeWarnings() { host.logger.warn("keystore", [("detail", warning)]) }
    }

    mutating func recordState(result: String?, error: String?, next: Int64?) {
        let now = host.now()
        // What this call writes afresh; the rest of the state stays. The last error stays until a
        // success: a PENDING answer does not make it untrue.
        var replaced = ["next_attempt", "pending_transaction", "pending_since"]
        if result != nil { replaced += result == "pending" ? ["last_attempt", "last_result"] : ["last_attempt", "last_result", "last_error"] }
        if result == "success" { replaced += ["last_success", "challenge"] }
        var values = keystore.readState().values.filter { !replaced.contains($0.0) }
        if let result {
            values.append(("last_attempt", DERTime.iso8601(now)))
            values.append(("last_result", result))
            if let error { values.append(("last_error", error)) }
            if result == "success" { values.append(("last_success", "\(now)")) }
        }
        if let next { values.append(("next_attempt", DERTime.iso8601(next))) }
        if let pending = authority.pending {
            values.append(("pending_transaction", pending.record.transactionID))
            values.append(("pending_since", DERTime.iso8601(pending.record.since)))
        }
        do { try keystore.writeState(IdentityMetadata(values)) } catch {
            host.logger.warn("cannot record the daemon's state", [("detail", "\(error)")])
        }
        guard result != nil else { return }
        let lastSuccess = values.first { $0.0 == "last_success" }.flatMap { Numbers.parse($0.1.utf8, limit: 4_102_444_800) }
        host.recordMetrics(AgentMetrics(notAfter: identity?.certificate.notAfter, lastAttempt: now,
                                        lastSuccess: lastSuccess.map { Int64($0) }, consecutiveFailures: backoff.failures,
                                        pendingSince: authority.pending?.record.since))
    }

    /// A first enrollment the server refused: the challenge is spent or wrong (one-time and
    /// time-limited challenges are common). `status` says a new one is needed; SIGHUP reads it.
    func noteChallengeRefused(_ error: AgentFailure) {
        var values = keystore.readState().values.filter { $0.0 != "challenge" }
        values.append(("challenge", "refused: \(error.message); write a new one to the challenge file and send SIGHUP"))
        try? keystore.writeState(IdentityMetadata(values))
    }

    func randomUnit() -> Double {
        guard let bytes = try? authority.randomBytes(4) else { return 0.5 }
        let value = UInt32(bytes[0]) << 24 | UInt32(bytes[1]) << 16 | UInt32(bytes[2]) << 8 | UInt32(bytes[3])
        return Double(value) / 4_294_967_296.0
    }
}
