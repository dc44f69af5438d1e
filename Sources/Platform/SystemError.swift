import CLibc

/// A failed system call: what we tried, on what, and the errno it gave.
///
/// The description never contains file contents, only the operation and the path, so it is safe to
/// log even when the file holds a secret.
public struct SystemError: Error, Equatable, CustomStringConvertible {
    public let operation: String
    public let path: String
    public let code: Int32
    /// Said instead of strerror's text where that would mislead ("Invalid argument" for a path
    /// that is a device, not a file).
    private let explanation: String?

    public init(_ operation: String, path: String = "", code: Int32, explanation: String? = nil) {
        self.operation = operation
        self.path = path
        self.code = code
        self.explanation = explanation
    }

    /// Captures the current errno for `operation`.
    static func last(_ operation: String, path: String = "") -> SystemError {
        SystemError(operation, path: path, code: scep_errno())
    }

    public var reason: String {
        if let explanation { return explanation }
        guard let text = strerror(code) else { return "errno \(code)" }
        return String(cString: text)
    }

    public var description: String {
        path.isEmpty ? "\(operation): \(reason)" : "\(operation) \(path): \(reason)"
    }

    public var isNotFound: Bool { code == ENOENT }
    public var isNoSpace: Bool { code == ENOSPC || code == EDQUOT }
    public var isReadOnlyFileSystem: Bool { code == EROFS }
    public var isTimeout: Bool { code == ETIMEDOUT }
}
