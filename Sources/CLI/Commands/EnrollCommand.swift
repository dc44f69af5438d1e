import Agent
import Crypto
import Keystore
import Platform

/// `enroll` and `renew`: one transaction, shared with the daemon (`CertificateTransaction`).
func enrollCommand(_ context: CommandContext, renewing: Bool) throws(CommandFailure) {
    guard context.settings.caFingerprint != nil else { throw CommandFailure(.usage, "needs --ca-fingerprint") }
    let random = try context.randomGenerator()
    let keystore = try context.openKeystore(forWriting: true, random: random)
    let existing: StoredIdentity?
    do { existing = try keystore.load() } catch { throw CommandFailure(.failure, "\(error)") }
    if let existing { context.repairPublishedCopies(existing) }
    for warning in keystore.takeWarnings() { context.logger.warn("keystore", [("detail", warning)]) }
    var host = SystemHost(context: context, waiter: nil)
    do {
        _ = try CertificateTransaction.run(renewing ? .renew : .enroll, existing: existing, host: &host, keystore: keystore,
                                           configuration: context.settings.agentConfiguration, random: random)
    } catch {
        throw CommandFailure(error.kind.exitStatus, error.message)
    }
}
