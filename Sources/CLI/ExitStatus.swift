/// The exit statuses scripts, packages and watchdogs rely on: README.md ("Exit status") and the
/// man page list them, and changing one breaks every caller that tests it.
public enum ExitStatus: Int32, Sendable {
    /// Done: a certificate was issued and committed, or the asked-for answer was printed.
    case success = 0
    /// The server said FAILURE, a reply did not verify, the network failed...
    case failure = 1
    /// Usage or configuration error.
    case usage = 2
    /// The server accepted the request but has not issued yet, and polling ran out of time.
    case pending = 3
    // `status --check` only (`CheckStatus`), above the general statuses so a watchdog never
    // mistakes one for the other.
    /// Valid, but due for renewal.
    case inRenewalWindow = 10
    /// Valid, but the last attempt (renewal, enrollment or publishing) failed.
    case lastAttemptFailed = 11
    /// Expired, or not yet valid by the local clock.
    case expired = 12
    case noIdentity = 13
}

/// A problem with the command line or the configuration: one line, naming what is wrong.
public struct UsageError: Error, Equatable, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
