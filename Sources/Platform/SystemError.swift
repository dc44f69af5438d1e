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
    /// that is a device, not a file). Payloads are plain numbers, so the error stays as cheap to
    /// copy as before (it travels inside every layer's error type).
    public let detail: Detail?

    public enum Detail: Equatable, Sendable {
        /// A device, FIFO or directory where a file belongs.
        case notARegularFile
        /// A file, FIFO or directory where a device (the TPM's) belongs.
        case notACharacterDevice
        /// More bytes than the reader takes.
        case largerThan(limit: Int)
        /// Empty, ".", "..", or with a slash or NUL, where one directory entry belongs.
        case notAFileName
        /// A secret's file that another user owns or may write: it could be swapped.
        case notPrivate
        /// A file with more than one name: overwriting it would not remove the secret.
        case hardLinked
        /// A secret's file that group or others may read: chmod 600.
        case readableByOthers
    }

    public init(_ operation: String, path: String = "", code: Int32, detail: Detail? = nil) {
        self.operation = operation
        self.path = path
        self.code = code
        self.detail = detail
    }

    /// Captures the current errno for `operation`.
    static func last(_ operation: String, path: String = "") -> SystemError {
        SystemError(operation, path: path, code: scep_errno())
    }

    public var reason: String {
        switch detail {
        case .notARegularFile: return "not a regular file"
        case .notACharacterDevice: return "not a character device"
        case .largerThan(let limit): return "larger than the \(limit)-byte limit"
        case .notAFileName: return "not a plain file name"
        case .notPrivate: return "owned or writable by another user"
        case .hardLinked: return "has other hard links"
        case .readableByOthers: return "readable by group or others (chmod 600)"
        case nil: break
        }
        guard let text = strerror(code) else { return "errno \(code)" }
        return stringFromC(text)
    }

    public var description: String {
        path.isEmpty ? "\(operation): \(reason)" : "\(operation) \(path): \(reason)"
    }

    public var isNotFound: Bool { code == ENOENT }
    public var isNoSpace: Bool { code == ENOSPC || code == EDQUOT }
    public var isReadOnlyFileSystem: Bool { code == EROFS }
    public var isTimeout: Bool { code == ETIMEDOUT }
}
