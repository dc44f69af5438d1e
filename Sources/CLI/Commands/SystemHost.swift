import Agent
import ASN1
import Crypto
import HTTP
import Keystore
import Platform
import Protocol
import Separation
import X509

/// The agent's side effects on a real system: the wall clock, signals, a sandboxed network
/// process for each transaction, files, hooks.
struct SystemHost: AgentHost {
    let context: CommandContext

    var logger: Logger { context.logger }

    func now() -> Int64 { wallClockSeconds() }

    mutating func wait(until deadline: Int64) -> WakeReason {
        if let waiter = context.waiter { return waiter.wait(untilWallClock: deadline) }
        sleepMilliseconds(max(0, deadline - wallClockSeconds()) * 1000)
        return .deadline
    }

    mutating func pendingSignal() -> WakeReason? { context.waiter?.pendingSignal() }

    /// The job for a transaction, from the authority's state: the pin may have moved (CA
    /// rollover) and the configuration reloaded since start.
    func job(_ command: NetworkJob.Command, authority: KeyAuthority) throws(AgentFailure) -> NetworkJob {
        var job: NetworkJob
        do { job = try context.networkJob(command) } catch {
            throw AgentFailure(error.status == .usage ? .configuration : .failed, .setting(error.message))
        }
        let configuration = authority.configuration
        job.pin = configuration.pin
        job.raPins = configuration.raPins
        job.allowWeakCrypto = configuration.allowWeakCrypto
        return job
    }

    mutating func exchange(_ kind: TransactionKind, authority: KeyAuthority) throws(AgentFailure) -> TransactionOutcome {
        let command: NetworkJob.Command = switch kind {
        case .enroll: .enroll
        case .renew: .renew
        case .poll: .poll
        }
        let result = try context.run(try job(command, authority: authority), authority: authority)
        // The outcome is read from what this process did (committed, or noted as pending),
        // never from the network process's word alone.
        switch result {
        case .transaction(let pending):
            return try authority.outcome(of: pending ? .pending : .issued)
        case .failed(let kind, let message, _):
            // A refusal counts only as this process verified it in the reply.
            if let refusal = authority.refusal { throw AgentFailure(refusal) }
            throw SystemHost.networkFailure(kind, message)
        default:
            throw AgentFailure.link(.unexpectedResult(request: "a transaction"))
        }
    }

    /// A failure the network process reported: always a plain failure. It cannot stop the
    /// daemon (only this process's own signals mean "interrupted"), claim a PENDING or a
    /// configuration error, or pass for the server's refusal (which moves the daemon to abandon a
    /// pending request or fall back to the challenge).
    static func networkFailure(_ kind: AgentFailure.Kind, _ message: String) -> AgentFailure {
        AgentFailure(.failed, .network(message, serverRefused: false))
    }

    mutating func nextCA(authority: KeyAuthority) throws(AgentFailure) -> Certificate? {
        let result = try context.run(try job(.nextCA, authority: authority), authority: nil)
        switch result {
        case .nextCA(_, nil):
            return nil
        case .nextCA(let ders, let answer?):
            // Checked here, against this process's pin: the network process only fetched it.
            var certificates: [Certificate] = []
            for der in ders {
                do { certificates.append(try Certificate(derEncoded: der)) } catch {
                    throw AgentFailure(.failed, .malformedCACertificate(error))
                }
            }
            do throws(SCEPError) {
                let ca = try CACertificates(certificates: certificates, pin: authority.configuration.pin,
                                            raPins: authority.configuration.raPins, now: wallClockSeconds())
                return try ca.verifyNextCA(answer)
            } catch {
                throw AgentFailure(error)
            }
        case .failed(let kind, let message, _):
            throw SystemHost.networkFailure(kind, message)
        default:
            throw AgentFailure.link(.unexpectedResult(request: "GetNextCACert"))
        }
    }

    /// The challenge file, overwritten in place and removed (`TrustedFile.destroy`).
    func consumeChallenge() throws(AgentFailure) {
        guard let path = context.settings.challengeFile else { return }
        do { try TrustedFile.destroy(path) } catch { throw AgentFailure(.failed, .system(error)) }
    }

    func publish(_ identity: StoredIdentity) throws(AgentFailure) {
        do {
            try context.publishedCopies.publish(key: identity.key, certificate: identity.certificate, chain: identity.chain)
        } catch {
            throw AgentFailure(.failed, .keystore(error))
        }
    }

    /// The hook, run by the hook helper (forked before any secret was loaded) in a process group
    /// of its own, with the environment the helper allows, for five minutes at most; SIGTERM to the
    /// daemon ends it at once. The helper runs the hook configured at start (command, keystore,
    /// published paths): a hook that a reload added or changed takes effect at the next start.
    mutating func runHook(_ command: String, environment: [(String, String)]) -> Bool {
        guard let hooks = context.hooks else {
            logger.warn("the hook did not run: the agent started without a hook helper (no hook configured then, "
                        + "or it could not start); restart the agent", [("command", command)])
            return false
        }
        if command != hooks.command {
            logger.warn("the hook changed since the agent started: the one it started with runs until a restart",
                        [("running", hooks.command), ("configured", command)])
        }
        let waiter = context.waiter
        let exit = hooks.run(environment: environment, shouldStop: { waiter?.terminationRequested() ?? false })
        if let exit, exit != .exited(0) { logger.warn("hook exited", [("status", "\(exit)")]) }
        return exit == .exited(0)
    }
}

extension SystemHost {
    /// The --metrics-file, replaced atomically so a collector never reads half of it.
    mutating func recordMetrics(_ metrics: AgentMetrics) {
        guard let path = context.settings.metricsFile else { return }
        do { try writeFileAtomically(path, Array(metrics.textfile.utf8), permissions: 0o644) } catch {
            logger.warn("cannot write the metrics file", [("detail", "\(error)")])
        }
    }
}

extension Settings {
    /// The agent's view of the settings.
    var agentConfiguration: AgentConfiguration {
        AgentConfiguration(pin: caFingerprint ?? [], subject: subject, keyType: keyType, keyStorage: keyStorage, reuseKey: reuseKey,
                           extensions: requestExtensions, schedule: RenewalSchedule(threshold: renewBefore),
                           pollInterval: pollInterval, pollTimeout: pollTimeout, retryMinimum: retryMinimum,
                           retryMaximum: retryMaximum, allowWeakCrypto: allowWeakCrypto, hook: hook,
                           consumeChallenge: consumeChallenge, raPins: raFingerprints, authenticatedServer: url?.scheme == .https)
    }
}

extension AgentFailure.Kind {
    var exitStatus: ExitStatus {
        switch self {
        case .configuration: .usage
        case .failed: .failure
        case .pending: .pending
        case .interrupted: .success
        }
    }
}
