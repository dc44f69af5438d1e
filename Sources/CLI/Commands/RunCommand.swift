import Agent
import Crypto
import Keystore
import Platform

/// `run`: the daemon, in the foreground, until SIGTERM or SIGINT (exit 0). It holds the keystore
/// lock for its whole life, so a second instance on the same keystore refuses to start.
func runCommand(_ context: CommandContext, reloadArguments: [String]) throws(CommandFailure) {
    // The hook helper first, before any secret is read.
    var context = context.withHookHelper()
    context.confineKeyProcess()
    do { context.waiter = try Waiter() } catch { throw CommandFailure(.failure, "cannot set up signal handling: \(error)") }
    let authority = try context.keyAuthority(challengeRequired: false, loadFailureIsFatal: false)
    context.repairPublishedCopies(authority)
    var daemon = Daemon(host: SystemHost(context: context), authority: authority)
    daemon.reload = {
        // SIGHUP: read the config file and the original command line again. Paths that select
        // the keystore cannot change under a running daemon; everything else can. A challenge
        // file that appeared (or changed) since start is read now.
        do throws(UsageError) {
            let invocation = try Invocation.parse(reloadArguments)
            let settings = try invocation.settings(configEntries: try loadConfigEntries(invocation.configPath))
            // A new challenge (the last one refused, or expired) is picked up here.
            if settings.challengeFile != nil, let challenge = try? readChallenge(settings, logger: context.logger, required: false) {
                authority.challenge?.wipe()
                authority.challenge = challenge
                let values = authority.keystore.readState().values.filter { $0.0 != "challenge" }
                try? authority.keystore.writeState(IdentityMetadata(values))
                context.logger.info("challenge read again")
            }
            if settings.hook != context.hooks?.command {
                context.logger.warn("the hook changed: it takes effect when the agent restarts",
                                    [("running", context.hooks?.command ?? "none"), ("configured", settings.hook ?? "none")])
            }
            return settings.agentConfiguration
        } catch {
            context.logger.error("reload failed", [("detail", error.message)])
            return nil
        }
    }
    daemon.run()
}
