import Encoding
import Platform
import Separation

/// The whole program behind `main`: parse, configure, run a command, and say how it ended.
public func runMain(_ arguments: [String]) -> ExitStatus {
    let invocation: Invocation
    do {
        invocation = try Invocation.parse(arguments)
    } catch {
        return usageFailure(error)
    }

    switch invocation.action {
    case .version:
        StandardStream.output.writeLine(Version.text)
        return .success
    case .help(let command):
        StandardStream.output.write(command.map(Help.command) ?? Help.general())
        return .success
    case .run(let command):
        let settings: Settings
        do {
            settings = try invocation.settings(configEntries: try loadConfigEntries(invocation.configPath))
        } catch {
            return usageFailure(error)
        }
        let logger = Logger(level: settings.logLevel, destination: settings.syslog ? .syslog : .standardError)
        return execute(command, settings, logger, arguments: arguments)
    }
}

/// The key process starts this binary again as its network process (`Separation`): with that
/// role as its only argument, `main` runs `networkProcessMain` instead, and exits with its status.
public let networkProcessRole = NetworkProcess.role

public func networkProcessMain() -> Int32 { NetworkProcess.main() }

/// Reads the named config file (which must exist) or the default one (if present).
func loadConfigEntries(_ explicitPath: String?) throws(UsageError) -> [GivenOptionList.Entry] {
    let path = explicitPath ?? ConfigFile.defaultPath
    let text: [UInt8]
    do {
        // It names the hook the agent runs: only root or the agent's user may have written it.
        text = try TrustedFile.read(path, limit: ConfigFile.maximumSize, readers: .anyone)
    } catch {
        if explicitPath == nil && error.isNotFound { return [] }
        throw UsageError("cannot read config file: \(error)")
    }
    return try ConfigFile.parse(text, path: path)
}

func usageFailure(_ error: UsageError) -> ExitStatus {
    StandardStream.error.writeLine("scep-agent: \(error.message) (see 'scep-agent --help')")
    return .usage
}

/// Runs one command. Commands not built yet say so and exit 2 rather than pretend to succeed.
func execute(_ command: Command, _ settings: Settings, _ logger: Logger, arguments: [String]) -> ExitStatus {
    let context = CommandContext(settings: settings, logger: logger)
    do throws(CommandFailure) {
        switch command {
        case .caps: try capsCommand(context)
        case .getca: try getCACommand(context)
        case .enroll: try enrollCommand(context, renewing: false)
        case .renew: try enrollCommand(context, renewing: true)
        case .status: return try statusCommand(context)
        case .run: try runCommand(context, reloadArguments: arguments)
        }
        return .success
    } catch {
        // The message may quote a server or a certificate: no control character reaches the terminal.
        StandardStream.error.writeLine("scep-agent: \(command.rawValue): \(TerminalText.escaped(error.message))")
        return error.status
    }
}
