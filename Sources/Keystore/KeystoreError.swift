import Crypto
import Platform

/// Why the keystore could not be opened, read or written. Paths and reasons only: never contents.
public enum KeystoreError: Error, Equatable, CustomStringConvertible {
    case system(SystemError)
    case insecure(String)
    case corrupt(String)
    case crypto(CryptoError)
    case locked(String)

    public var description: String {
        switch self {
        case .system(let error):
            if error.isNoSpace { return "keystore: no space left writing \(error.path); the current identity is unchanged" }
            if error.isReadOnlyFileSystem { return "keystore: \(error.path) is on a read-only filesystem; the current identity is unchanged" }
            return "keystore: \(error)"
        case .insecure(let detail): return "keystore refused: \(detail)"
        case .corrupt(let detail): return "keystore: \(detail)"
        case .crypto(let error): return "keystore: \(error)"
        case .locked(let detail): return "keystore locked: \(detail)"
        }
    }
}
