import Encoding

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
        var scan = ArgumentScan(arguments)
        while let argument = scan.next() {
            if argument == "--help" || argument == "-h" {
                scan.wantsHelp = true
            } else if argument == "--version" || argument == "-V" {
                scan.wantsVersion = true
            } else if argument.hasUTF8Prefix("--") {
                try scan.option(argument)
            } else if argument.hasUTF8Prefix("-") && argument.utf8.count > 1 {
                throw UsageError("unknown option '\(argument)' (options are long: --name value)")
            } else {
                try scan.word(argument)
            }
        }
        return try scan.invocation()
    }
}

/// The state of `Invocation.parse` as it walks argv: one argument at a time, each kind of
/// argument in a method of its own.
private struct ArgumentScan {
    let arguments: [String]
    var index = 0
    var command: Command? = nil
    var wantsHelp = false
    var wantsVersion = false
    var configPath: String? = nil
    var options: [GivenOption] = []

    init(_ arguments: [String]) { self.arguments = arguments }

    mutating func next() -> String? {
        guard index < arguments.count else { return nil }
        index += 1
        return arguments[index - 1]
    }

    /// `--name value` or `--name=value`; a flag takes no value.
    mutating func option(_ argument: String) throws(UsageError) {
        var name = argument.droppingUTF8Prefix(2)
        var inlineValue: String? = nil
        let parts = name.splitUTF8(at: UInt8(ascii: "="), maxSplits: 1, omittingEmpty: false)
        if parts.count == 2 { (name, inlineValue) = (parts[0], parts[1]) }
        let source = "--" + name
        if name == "config" {
            guard let value = value(inlineValue) else { throw UsageError("option '--config' needs a value") }
            configPath = value
            return
        }
        guard let option = OptionTable.option(named: name) else { throw UsageError("unknown option '\(source)'") }
        if option.isFlag {
            options.append(GivenOption(name: name, value: inlineValue ?? "yes", source: source))
            return
        }
        guard let value = value(inlineValue) else {
            throw UsageError("option '\(source)' needs a value (\(option.argument ?? "VALUE"))")
        }
        options.append(GivenOption(name: name, value: value, source: source))
    }

    /// The option's value: after `=`, else the next argument unless that is an option itself.
    private mutating func value(_ inline: String?) -> String? {
        if let inline { return inline }
        guard index < arguments.count, !arguments[index].hasUTF8Prefix("--") else { return nil }
        return next()
    }

    /// A word that is not an option: the command (`help COMMAND` asks for its help), and nothing after it.
    mutating func word(_ argument: String) throws(UsageError) {
        guard command == nil else { throw UsageError("unexpected argument '\(argument)'") }
        if argument == "help" {
            wantsHelp = true
            if index < arguments.count, let topic = Command(name: arguments[index]) {
                command = topic
                index += 1
            }
            return
        }
        guard let named = Command(name: argument) else { throw UsageError("unknown command '\(argument)'") }
        command = named
    }

    /// What was asked for; each option must apply to the command.
    func invocation() throws(UsageError) -> Invocation {
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
}

extension Invocation {
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
