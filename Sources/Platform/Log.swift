import CLibc
import Encoding

/// How much the agent says. Ordered: a logger at `.info` also emits `.warn` and `.error`.
public enum LogLevel: Int, Comparable, Sendable {
    case error = 0, warn, info, debug

    public init?(name: String) {
        switch name.asciiLowercased {
        case "error": self = .error
        case "warn", "warning": self = .warn
        case "info": self = .info
        case "debug": self = .debug
        default: return nil
        }
    }

    public var name: String {
        switch self {
        case .error: "error"
        case .warn: "warn"
        case .info: "info"
        case .debug: "debug"
        }
    }

    var syslogPriority: Int32 {
        switch self {
        case .error: LOG_ERR
        case .warn: LOG_WARNING
        case .info: LOG_INFO
        case .debug: LOG_DEBUG
        }
    }

    public static func < (lhs: LogLevel, rhs: LogLevel) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// Where log lines go: standard error (the default; systemd and procd collect it), or syslog.
public enum LogDestination: Sendable, Equatable {
    case standardError
    case syslog
    /// To `LogForwarding.sink`: the network process sends its lines to the key process, which
    /// writes them where it writes its own (the network process may open nothing).
    case forward
}

/// Where `.forward` lines go; set once, by the network process, before it logs.
public enum LogForwarding {
    nonisolated(unsafe) public static var sink: ((LogLevel, String, [(String, String)]) -> Void)? = nil
}

/// One event per line, `key=value` style: `level=info event=enrolled serial=01ab`.
///
/// Callers pass only public facts; nothing that holds a secret has a description that reveals it,
/// so a careless field cannot leak a key or a challenge.
public struct Logger: Sendable {
    public var level: LogLevel
    public var destination: LogDestination

    public init(level: LogLevel = .info, destination: LogDestination = .standardError) {
        self.level = level
        self.destination = destination
    }

    public func error(_ event: String, _ fields: [(String, String)] = []) { log(.error, event, fields) }
    public func warn(_ event: String, _ fields: [(String, String)] = []) { log(.warn, event, fields) }
    public func info(_ event: String, _ fields: [(String, String)] = []) { log(.info, event, fields) }
    public func debug(_ event: String, _ fields: [(String, String)] = []) { log(.debug, event, fields) }

    /// `source` names another process whose line this is (the network process's, forwarded):
    /// it comes first on the line, before anything that process chose, so no field it sends
    /// can pass for the agent's own and no truncation can cut the name off.
    public func log(_ messageLevel: LogLevel, _ event: String, _ fields: [(String, String)], source: String? = nil) {
        guard messageLevel <= level else { return }
        if destination == .forward {
            LogForwarding.sink?(messageLevel, event, fields)
            return
        }
        let line = (source.map { $0 + ": " } ?? "") + Logger.format(messageLevel, event, fields)
        switch destination {
        case .standardError: StandardStream.error.writeLine("scep-agent: " + line)
        case .syslog:
            if !SyslogSocket.shared.send(priority: LOG_DAEMON | messageLevel.syslogPriority, tag: "scep-agent", line) {
                StandardStream.error.writeLine("scep-agent: " + line)
            }
        case .forward: break
        }
    }

    /// The text of one log line, without the program name.
    public static func format(_ level: LogLevel, _ event: String, _ fields: [(String, String)]) -> String {
        var line = "level=\(level.name) event=\(quoted(event))"
        for (key, value) in fields { line += " \(key)=\(quoted(value))" }
        return line
    }

    /// Quotes a value when it holds a space, quote, `=` or control character, so every line
    /// splits back into its fields; control characters (a newline from a server) are escaped,
    /// never passed through, so one event stays one line.
    static func quoted(_ value: String) -> String {
        var needsQuotes = value.isEmpty
        for byte in value.utf8 where byte <= 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "=") || byte == 0x7f {
            needsQuotes = true
        }
        return needsQuotes ? QuotedString.quote(value, controls: .hex) : value
    }
}
