/// One setting as given, remembering where it came from so an error can point at it.
struct GivenOption: Equatable {
    let name: String
    let value: String
    /// "--url" or "/etc/scep-agent.conf:3: url".
    let source: String
}

/// What the command line asks for, before the config file is read.
public struct Invocation: Equatable {
    public enum Action: Equatable {
        case help(Command?)
        case version
        case run(Command)
    }

    public let action: Action
    /// `--config FILE`, when given.
    public let configPath: String?
    let options: [GivenOption]

    /// Parses argv without argv[0]. `--name value` and `--name=value` both work; options may
    /// stand before or after the command.
    public static func parse(_ arguments: [String]) throws(UsageError) -> Invocation {
        var command: Command? = nil
        var wantsHelp = false
        var wantsVersion = false
        var configPath: String? = nil
        var options: [GivenOption] = []
        var index = 0
        while index < arguments.count {
            let argument = arguments[index]
            index += 1
            if argument == "--help" || argument == "-h" {
                wantsHelp = true
                continue
            }
            if argument == "--version" || argument == "-V" {
                wantsVersion = true
                continue
            }
            if argument.hasPrefix("--") {
                var name = String(argument.dropFirst(2))
                var inlineValue: String? = nil
                if let equals = name.firstIndex(of: "=") {
                    inlineValue = String(name[name.index(after: equals)...])
                    name = String(name[..<equals])
                }
                let source = "--" + name
                if name == "config" {
                    guard let value = try takeValue(inlineValue, arguments, &index, source) else {
                        throw UsageError("option '--config' needs a value")
                    }
                    configPath = value
                    continue
                }
                guard let option = OptionTable.option(named: name) else {
                    throw UsageError("unknown option '\(source)'")
                }
                if option.isFlag {
                    options.append(GivenOption(name: name, value: inlineValue ?? "yes", source: source))
                } else {
                    guard let value = try takeValue(inlineValue, arguments, &index, source) else {
                        throw UsageError("option '\(source)' needs a value (\(option.argument ?? "VALUE"))")
                    }
                    options.append(GivenOption(name: name, value: value, source: source))
                }
                continue
            }
            if argument.hasPrefix("-") && argument.count > 1 {
                throw UsageError("unknown option '\(argument)' (options are long: --name value)")
            }
            if command == nil {
                if argument == "help" {
                    wantsHelp = true
                    if index < arguments.count, let topic = Command(name: arguments[index]) {
                        command = topic
                        index += 1
                    }
                    continue
                }
                guard let named = Command(name: argument) else {
                    throw UsageError("unknown command '\(argument)'")
                }
                command = named
                continue
            }
            throw UsageError("unexpected argument '\(argument)'")
        }

        if wantsHelp { return Invocation(action: .help(command), configPath: configPath, options: options) }
        if wantsVersion { return Invocation(action: .version, configPath: configPath, options: options) }
        guard let command else { throw UsageError("no command given") }
        for option in options {
            guard let spec = OptionTable.option(named: option.name) else { continue }
            if !spec.commands.isEmpty && !spec.commands.contains(command) {
                throw UsageError("option '\(option.source)' does not apply to '\(command.rawValue)'")
            }
        }
        return Invocation(action: .run(command), configPath: configPath, options: options)
    }

    private static func takeValue(_ inline: String?, _ arguments: [String], _ index: inout Int,
                                  _ source: String) throws(UsageError) -> String? {
        if let inline { return inline }
        guard index < arguments.count, !arguments[index].hasPrefix("--") else { return nil }
        index += 1
        return arguments[index - 1]
    }

    /// The settings: defaults, then the config file's entries, then the command line's.
    public func settings(configEntries: [GivenOptionList.Entry]) throws(UsageError) -> Settings {
        var settings = Settings()
        for entry in configEntries { try settings.apply(entry.option.name, entry.option.value, source: entry.option.source) }
        for option in options { try settings.apply(option.name, option.value, source: option.source) }
        try settings.expandSubject()
        try settings.checkCombinations()
        if case .run(let command) = action {
            for option in OptionTable.required(by: command) where !option.isSet(settings) {
                throw UsageError("'\(command.rawValue)' needs --\(option.name) (on the command line or in the config file)")
            }
        }
        return settings
    }
}

/// The entries of a config file, ready to apply.
public enum GivenOptionList {
    public struct Entry: Equatable {
        let option: GivenOption
        public var name: String { option.name }
        public var value: String { option.value }
    }
}
