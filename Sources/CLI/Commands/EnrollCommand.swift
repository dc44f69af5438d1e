import Agent
import Crypto
import Keystore
import Platform

/// `enroll` and `renew`: one transaction (resuming a pending one first), shared with the daemon.
func enrollCommand(_ context: CommandContext, renewing: Bool) throws(CommandFailure) {
    guard context.settings.caFingerprint != nil else { throw CommandFailure(.usage, "needs --ca-fingerprint") }
    let withHooks = context.withHookHelper()
    withHooks.confineKeyProcess()
    // After the hook helper and the filter, before any secret: the network process's start-up
    // overlaps the keystore's loading.
    let context = withHooks.withNetworkProcessStarted()
    let authority = try context.keyAuthority(challengeRequired: !renewing)
    context.repairPublishedCopies(authority)
    var host = SystemHost(context: context)
    do {
        _ = try OneShot.run(renewing ? .renew : .enroll, host: &host, authority: authority)
    } catch {
        throw CommandFailure(error.kind.exitStatus, error.message)
    }
}
