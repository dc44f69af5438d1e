import Agent
import Crypto
import Keystore
import Platform

/// `run`: the daemon, in the foreground, until SIGTERM or SIGINT (exit 0). It holds the keystore
/// lock for its whole life, so a second instance on the same keystore refuses to start.
func runCommand(_ context: CommandContext, reloadArguments: [String]) throws(CommandFailure) {
    let waiter: Waiter
    do { waiter = try Waiter() } catch { throw CommandFailure(.failure, "cannot set up signal handling: \(error)") }
    let random = try context.randomGenerator()
    let keystore = try context.openKeystore(forWriting: true, random: random)
    do {
        if let existing = try keystore.load() { context.repairPublishedCopies(existing) }
    } catch {
        context.logger.error("the keystore cannot be read", [("detail", "\(error)")])
    }
    var daemon = Daemon(host: SystemHost(context: context, waiter: waiter), configuration: context.settings.agentConfiguration,
                        keystore: keystore, random: random)
    daemon.reload = {
        // SIGHUP: read the config file and the original command line again. Paths that select
        // the keystore cannot change under a running daemon; everything else can.
        do throws(UsageError) {
            let invocation = try Invocation.parse(reloadArguments)
            let settings = try invocation.settings(configEntries: try loadConfigEntries(invocation.configPath))
            return settings.agentConfiguration
        } catch {
            context.logger.error("reload failed", [("detail", error.message)])
            return nil
        }
    }
    daemon.run()
}
