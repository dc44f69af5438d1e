import Crypto
import HTTP

public enum Version {
    public static let number = "0.1.0"

    public static var text: String {
        #if hasFeature(Embedded)
        let mode = "embedded"
        #else
        let mode = "standard"
        #endif
        let tls = HTTPClient.supportsTLS ? "" : ", tiny: no TLS"
        return "scep-agent \(number) (mbedTLS \(cryptoLibraryVersion()), \(mode) build\(tls))"
    }
}

/// Help texts, generated from `Command` and `OptionTable` so they cannot drift from the parser.
enum Help {
    static func general() -> String {
        var text = """
        scep-agent \(Version.number): SCEP (RFC 8894) certificate enrollment and renewal for devices

        Usage: scep-agent [--config FILE] COMMAND [OPTIONS]

        Commands:

        """
        for command in Command.all {
            text += "  " + padded(command.rawValue, 9) + command.summary + "\n"
        }
        text += "\nOptions (each is also a key of the config file, without the dashes):\n"
        text += "  " + padded("--config FILE", 24) + "config file (default \(ConfigFile.defaultPath), if present)\n"
        for option in OptionTable.options where option.isConfigKey {
            text += optionLine(option)
        }
        text += """

        Durations: 30s, 10m, 12h, 14d. --renew-before also takes a share of the lifetime, such as 33%.
        Exit status: 0 done, 1 failed, 2 usage or configuration error, 3 pending (polling timed out).
        'scep-agent COMMAND --help' describes one command.

        """
        return text
    }

    static func command(_ command: Command) -> String {
        var text = "Usage: scep-agent [--config FILE] \(command.rawValue) [OPTIONS]\n\n\(command.summary).\n"
        let specific = OptionTable.options.filter { $0.commands.contains(command) }
        if !specific.isEmpty {
            text += "\nOptions of '\(command.rawValue)':\n"
            for option in specific { text += optionLine(option) }
        }
        let required = OptionTable.required(by: command)
        if !required.isEmpty {
            text += "\nNeeds: " + required.map { "--" + $0.name }.joined(separator: ", ") + "\n"
        }
        text += "\nEvery option of 'scep-agent --help' applies as well.\n"
        return text
    }

    private static func optionLine(_ option: OptionSpec) -> String {
        let left = "--" + option.name + (option.argument.map { " " + $0 } ?? "")
        return "  " + padded(left, 24) + option.help + (option.defaultText.map { " (default \($0))" } ?? "") + "\n"
    }

    private static func padded(_ text: String, _ width: Int) -> String {
        let count = text.utf8.count
        return count >= width ? text + " " : text + String(repeating: " ", count: width - count)
    }
}
