/// The exit statuses of `../shared/docs/interface.md`, which scripts and packages rely on.
public enum ExitStatus: Int32, Sendable {
    /// Done: a certificate was issued and committed, or the asked-for answer was printed.
    case success = 0
    /// The server said FAILURE, a reply did not verify, the network failed...
    case failure = 1
    /// Usage or configuration error.
    case usage = 2
    /// The server accepted the request but has not issued yet, and polling ran out of time.
    case pending = 3
}

/// A problem with the command line or the configuration: one line, naming what is wrong.
public struct UsageError: Error, Equatable, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
