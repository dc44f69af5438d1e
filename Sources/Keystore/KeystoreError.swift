import ASN1
import Crypto
import Platform
import X509

/// Why the keystore could not be opened, read or written. Paths and reasons only: never contents.
public enum KeystoreError: Error, Equatable, CustomStringConvertible {
    case system(SystemError)
    case crypto(CryptoError)
    /// Something in the keystore another user could read, write or redirect.
    case insecure(path: String, Insecurity)
    case locked(path: String, holder: String)
    /// A generation that cannot be used, and why.
    case damaged(generation: String, Damage)
    /// The current identity is damaged and so is the fallback (or there is none).
    case unusable(current: String, previous: String?)
    /// The certificate to commit is not usable: its path, or its key.
    case refused(Refusal)
    case readOnly

    public enum Insecurity: Equatable, Sendable {
        case symlink
        case notRegular
        case foreignOwner(UInt32)
        case notOwnedByUs(UInt32)
        case loosePermissions(UInt32)
    }

    public enum Damage: Equatable, Sendable {
        case manifestMismatch
        case unreadableManifest
        case corruptFile(String)
        case noCertificate
        case certificate(DERError)
        case chain(DERError)
        case keyMismatch
        case noKey
        case needsDeviceSecret
        case unreadablePointer
        case unloadableKey(CryptoError)
    }

    public enum Refusal: Equatable, Sendable {
        case keyMismatch
        case untrusted(PathError)
        case notAsWritten
        /// A key only its holder can keep (a TPM's) cannot be given as a file.
        case keyNotExportable
    }

    public var description: String {
        switch self {
        case .system(let error):
            if error.isNoSpace { return "keystore: no space left writing \(error.path); the current identity is unchanged" }
            if error.isReadOnlyFileSystem { return "keystore: \(error.path) is on a read-only filesystem; the current identity is unchanged" }
            return "keystore: \(error)"
        case .insecure(let path, let insecurity): return "keystore refused: " + insecurity.text(path)
        case .locked(let path, let holder): return "keystore locked: \(path) is in use by another scep-agent (pid \(holder)); not touching it"
        default: return "keystore: " + reason
        }
    }

    /// What went wrong, without the "keystore:" every description starts with.
    var reason: String {
        switch self {
        case .crypto(let error): return "\(error)"
        case .damaged(let generation, let damage): return damage.text(generation)
        case .unusable(let current, let previous):
            return "\(current); " + (previous.map { "the previous identity is damaged too: \($0)" }
                                     ?? "there is no previous identity to fall back to")
        case .refused(let refusal): return refusal.text
        case .readOnly: return "opened read-only"
        default: return "\(self)"
        }
    }
}

extension KeystoreError.Insecurity {
    func text(_ path: String) -> String {
        switch self {
        case .symlink: "\(path) is a symlink; refusing to follow links in the keystore"
        case .notRegular: "\(path) is not a regular file or directory"
        case .foreignOwner(let owner): "\(path) is owned by uid \(owner), not by this user"
        case .notOwnedByUs(let me): "\(path) is not owned by this user (uid \(me))"
        case .loosePermissions(let mode): "\(path) is accessible to group or others (mode \(octal(mode)); want 0700 or 0600)"
        }
    }
}

extension KeystoreError.Damage {
    func text(_ generation: String) -> String {
        switch self {
        case .manifestMismatch: "\(generation): the manifest does not match the pointer to it"
        case .unreadableManifest: "\(generation): unreadable manifest"
        case .corruptFile(let name): "\(generation)/\(name) is truncated or corrupt (SHA-256 differs from the manifest)"
        case .noCertificate: "\(generation)/cert.pem holds no certificate"
        case .certificate(let why): "\(generation)/cert.pem: \(why)"
        case .chain(let why): "\(generation)/chain.pem: \(why)"
        case .keyMismatch: "\(generation): the key does not match the certificate"
        case .noKey: "\(generation) has no key"
        case .needsDeviceSecret: "\(generation): the key is encrypted at rest; the device secret is needed"
        case .unreadablePointer: "the \(generation) pointer is unreadable"
        case .unloadableKey(let error): "\(generation): the key cannot be loaded: \(error)"
        }
    }
}

extension KeystoreError.Refusal {
    var text: String {
        switch self {
        case .keyMismatch: "refusing to store a certificate that does not match its key"
        case .untrusted(let error): "the staged certificate is not usable: \(error)"
        case .notAsWritten: "the staged identity does not read back as written"
        case .keyNotExportable: "the key is held by its device and cannot be written to a file"
        }
    }
}

func octal(_ value: UInt32) -> String {
    var digits = ""
    var rest = value
    repeat {
        digits = String(rest % 8) + digits
        rest /= 8
    } while rest > 0
    return "0" + digits
}
