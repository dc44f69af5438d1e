import ASN1
import Crypto
import Keystore
import Platform
import Protocol
import X509

/// `enroll` and `renew`: one transaction, polled while the server says PENDING, then what
/// follows a commit. The daemon does the same steps on its own schedule.
public enum OneShot {
    public static func run<Host: AgentHost>(_ kind: TransactionKind, host: inout Host,
                                            authority: KeyAuthority) throws(AgentFailure) -> StoredIdentity {
        let logger = host.logger
        let watch = Stopwatch()
        if kind == .renew && authority.identity == nil {
            throw AgentFailure(.failed, .noIdentity(keystore: authority.keystore.path))
        }
        if kind == .enroll && authority.challenge == nil {
            logger.warn("enrolling without a challenge password", [("hint", "--challenge-file or SCEP_CHALLENGE")])
        }
        // A transaction the server left PENDING (before a reboot, say) is polled first: a new
        // request would be a second one for the same device.
        // One older than --poll-timeout, or one the server refuses to know, is abandoned for a
        // fresh request (RFC 8894 section 3.3.3 leaves giving up to the client).
        var resumed: TransactionOutcome? = nil
        if let pending = authority.pending {
            let transaction = pending.record.transactionID
            if host.now() >= pending.record.deadline(timeout: authority.configuration.pollTimeout) {
                logger.warn("abandoned a pending transaction older than --poll-timeout", [("transaction", transaction)])
                authority.abandonPending()
            } else {
                logger.info("resuming a pending transaction", [("transaction", transaction)])
                authority.begin(.poll)
                do { resumed = try host.exchange(.poll, authority: authority) } catch {
                    guard error.serverRefused else { throw error }
                    logger.warn("the server refused the pending transaction; sending a new request",
                                [("transaction", transaction), ("detail", error.message)])
                    authority.abandonPending()
                }
            }
        }
        var outcome: TransactionOutcome
        if let resumed {
            outcome = resumed
        } else {
            authority.begin(kind)
            outcome = try host.exchange(kind, authority: authority)
        }
        let deadline = host.now() + authority.configuration.pollTimeout
        while case .pending(let record) = outcome {
            guard host.now() < deadline else { throw AgentFailure(.pending, .stillPending(transactionID: record.transactionID)) }
            let interval = authority.configuration.pollInterval
            logger.info("pending", [("transaction", record.transactionID), ("next_poll_in", "\(interval)s")])
            if host.wait(until: min(host.now() + interval, deadline)) == .terminate {
                throw AgentFailure.stopped(.whileWaitingForPending)
            }
            authority.begin(.poll)
            outcome = try host.exchange(.poll, authority: authority)
        }
        guard let identity = authority.committed else { throw AgentFailure.outOfOrder(.committedNothing) }
        logger.debug("timings", [("total_ms", watch.milliseconds)])
        try AfterCommit.run(identity, kind: kind, host: &host, authority: authority)
        return identity
    }
}

/// What follows a commit, once the new identity is in service: the challenge consumed (after a
/// first enrollment), the published copies written, the hook run. A failure here never undoes
/// the commit.
public enum AfterCommit {
    public static func run<Host: AgentHost>(_ identity: StoredIdentity, kind: TransactionKind, host: inout Host,
                                            authority: KeyAuthority) throws(AgentFailure) {
        let logger = host.logger
        let certificate = identity.certificate
        logger.info(kind == .renew ? "renewed" : "enrolled",
                    [("subject", certificate.subject.rfc4514String), ("serial", certificate.serialHex),
                     ("not_after", DERTime.iso8601(certificate.notAfter)), ("key", identity.key.type.name),
                     ("key_storage", identity.key.storage.name),
                     ("new_key", kind == .renew && authority.configuration.reuseKey ? "no" : "yes")])
        if kind != .renew && authority.configuration.consumeChallenge && authority.challenge != nil {
            do {
                try host.consumeChallenge()
                logger.info("challenge consumed", [("detail", "the factory challenge is no longer needed and was removed")])
            } catch {
                logger.warn("cannot remove the consumed challenge file", [("detail", error.message)])
            }
            authority.challenge?.wipe()
            authority.challenge = nil
        }
        try publishAndRunHook(identity, host: &host, authority: authority)
    }

    /// The published copies, then (only once they are written) the hook.
    public static func publishAndRunHook<Host: AgentHost>(_ identity: StoredIdentity, host: inout Host,
                                                          authority: KeyAuthority) throws(AgentFailure) {
        do { try host.publish(identity) } catch {
            throw AgentFailure(.failed, .publishing(error.cause))
        }
        guard let hook = authority.configuration.hook else { return }
        if host.runHook(hook, environment: hookEnvironment(identity, keystore: authority.keystore)) {
            host.logger.info("hook ran", [("command", hook)])
        } else {
            host.logger.warn("hook failed; the certificate is committed all the same", [("command", hook)])
        }
    }

    /// What a hook is told: SCEP_AGENT_EVENT and where the new identity's files are. Never a
    /// key or the challenge.
    static func hookEnvironment(_ identity: StoredIdentity, keystore: Keystore) -> [(String, String)] {
        let generation = keystore.path + "/" + identity.generation
        return [
            ("SCEP_AGENT_EVENT", "certificate-committed"),
            ("SCEP_AGENT_CERT", generation + "/cert.pem"),
            ("SCEP_AGENT_CHAIN", generation + "/chain.pem"),
            ("SCEP_AGENT_KEYSTORE", keystore.path),
            ("SCEP_AGENT_SUBJECT", identity.certificate.subject.rfc4514String),
            ("SCEP_AGENT_SERIAL", identity.certificate.serialHex),
            ("SCEP_AGENT_NOT_AFTER", DERTime.iso8601(identity.certificate.notAfter)),
        ]
    }
}
