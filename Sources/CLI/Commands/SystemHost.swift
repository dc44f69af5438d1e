import Agent
import Crypto
import Keystore
import Platform
import Protocol

/// The agent's side effects on a real system: the wall clock, signals, HTTP, files, hooks.
struct SystemHost: AgentHost {
    let context: CommandContext
    /// Present for the daemon; one-shot commands sleep without one.
    var waiter: Waiter?

    var logger: Logger { context.logger }

    func now() -> Int64 { wallClockSeconds() }

    mutating func wait(until deadline: Int64) -> WakeReason {
        if let waiter { return waiter.wait(untilWallClock: deadline) }
        sleepMilliseconds(max(0, deadline - wallClockSeconds()) * 1000)
        return .deadline
    }

    mutating func pendingSignal() -> WakeReason? { waiter?.pendingSignal() }

    func makeClient() throws(AgentFailure) -> SCEPClient<HTTPTransport> {
        do { return try context.client() } catch { throw AgentFailure(error.status == .usage ? .configuration : .failed, error.message) }
    }

    func readChallenge() throws(AgentFailure) -> SecretBytes? {
        do { return try CLI.readChallenge(context.settings) } catch { throw AgentFailure(.configuration, error.message) }
    }

    func consumeChallenge() {
        guard let path = context.settings.challengeFile else { return }
        do {
            let size = Int(try fileStatus(path, followSymlinks: true).size)
            try writeFileAtomically(path, [UInt8](repeating: 0, count: size), permissions: 0o600)
            try removeFile(path)
        } catch {
            logger.warn("cannot remove the consumed challenge file", [("detail", "\(error)")])
        }
    }

    func publish(_ identity: StoredIdentity) throws(AgentFailure) {
        do {
            try context.publishedCopies.publish(key: identity.key, certificate: identity.certificate, chain: identity.chain)
        } catch {
            throw AgentFailure(.failed, "the identity is committed, but a published copy failed: \(error)")
        }
    }

    func runHook(_ command: String, environment: [(String, String)]) -> Int32? {
        var all = environment
        if let path = context.settings.certOut { all.append(("SCEP_AGENT_CERT_OUT", path)) }
        if let path = context.settings.keyOut { all.append(("SCEP_AGENT_KEY_OUT", path)) }
        if let path = context.settings.chainOut { all.append(("SCEP_AGENT_CHAIN_OUT", path)) }
        if let path = context.settings.bundleOut { all.append(("SCEP_AGENT_BUNDLE_OUT", path)) }
        return runShellCommand(command, environment: all, timeoutMilliseconds: 5 * 60 * 1000)
    }
}

extension Settings {
    /// The agent's view of the settings.
    var agentConfiguration: AgentConfiguration {
        AgentConfiguration(pin: caFingerprint ?? [], subject: subject, keyType: keyType, reuseKey: reuseKey,
                           extensions: requestExtensions, schedule: RenewalSchedule(threshold: renewBefore),
                           pollInterval: pollInterval, pollTimeout: pollTimeout, retryMinimum: retryMinimum,
                           retryMaximum: retryMaximum, allowWeakCrypto: allowWeakCrypto, hook: hook,
                           consumeChallenge: consumeChallenge, raPins: raFingerprints)
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
