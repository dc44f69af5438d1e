import Crypto
import Encoding
import Platform
import X509

/// The identity in service: a private key, its certificate, and the chain up to the pinned CA.
public struct StoredIdentity {
    public let key: RSAPrivateKey
    public let certificate: Certificate
    public let chain: [Certificate]
}

/// The agent's own state directory.
///
/// An identity is one file, `identity.pem`: key, certificate and chain together, so a single
/// atomic rename commits a matched pair, and no crash can leave a key without its certificate.
/// The identity it replaces is kept as `previous.pem`. The directory must be 0700 and owned by
/// us; files are 0600; symlinks are refused.
public struct Keystore {
    public let directory: String

    static let currentName = "identity.pem"
    static let previousName = "previous.pem"
    static let maximumFileSize = 256 * 1024

    public var currentPath: String { directory + "/" + Keystore.currentName }
    public var previousPath: String { directory + "/" + Keystore.previousName }

    /// Opens (and with `create`, makes) the directory, refusing anything another user could
    /// read, write or redirect.
    public static func open(_ directory: String, create: Bool) throws(KeystoreError) -> Keystore {
        if create && !fileExists(directory) {
            do { try makeDirectory(directory, permissions: 0o700) } catch { throw .system(error) }
        }
        let status: FileStatus
        do { status = try fileStatus(directory) } catch { throw .system(error) }
        guard status.kind != .symlink else { throw .insecure("\(directory) is a symlink") }
        guard status.kind == .directory else { throw .insecure("\(directory) is not a directory") }
        guard status.owner == currentUserID() else { throw .insecure("\(directory) is not owned by this user") }
        guard status.permissions & 0o077 == 0 else {
            throw .insecure("\(directory) is accessible to group or others (mode \(octal(status.permissions)); want 0700)")
        }
        return Keystore(directory: directory)
    }

    /// The identity in service, or nil when there is none yet (first boot).
    public func load() throws(KeystoreError) -> StoredIdentity? {
        guard fileExists(currentPath) else { return nil }
        return try Keystore.read(currentPath)
    }

    /// Commits a new identity: the key must match the certificate. The old one becomes previous.
    public func commit(key: RSAPrivateKey, certificate: Certificate, chain: [Certificate]) throws(KeystoreError) {
        guard key.matches(publicKeyInfo: certificate.publicKeyInfo) else {
            throw .corrupt("refusing to store a certificate that does not match its key")
        }
        let keyDER: SecretBytes
        do { keyDER = try key.pkcs1DER() } catch { throw .crypto(error) }
        let text = SecretBytes(keyDER.withBytes { PEM.encodeBytes($0, label: "RSA PRIVATE KEY") }
            + Array(PEM.encode(certificate.der, label: "CERTIFICATE").utf8)
            + chain.flatMap { Array(PEM.encode($0.der, label: "CERTIFICATE").utf8) })
        defer {
            keyDER.wipe()
            text.wipe()
        }
        do {
            if fileExists(currentPath) {
                let old = SecretBytes(try readFile(currentPath, limit: Keystore.maximumFileSize, followSymlinks: false))
                defer { old.wipe() }
                try old.withBytes { (buffer) throws(SystemError) in try writeFileAtomically(previousPath, buffer, permissions: 0o600) }
            }
            try text.withBytes { (buffer) throws(SystemError) in try writeFileAtomically(currentPath, buffer, permissions: 0o600) }
        } catch {
            throw .system(error)
        }
    }

    static func read(_ path: String) throws(KeystoreError) -> StoredIdentity {
        let text: SecretBytes
        do { text = SecretBytes(try readFile(path, limit: maximumFileSize, followSymlinks: false)) } catch { throw .system(error) }
        defer { text.wipe() }
        let blocks = text.withBytes { buffer -> (key: [UInt8]?, certificates: [[UInt8]]?) in
            let bytes = Array(buffer)
            return (PEM.decodeAll(bytes, label: "RSA PRIVATE KEY")?.first, PEM.decodeAll(bytes, label: "CERTIFICATE"))
        }
        guard let keyDER = blocks.key else { throw .corrupt("\(path) holds no private key") }
        let keySecret = SecretBytes(keyDER)
        defer { keySecret.wipe() }
        guard let certificates = blocks.certificates, let leaf = certificates.first else {
            throw .corrupt("\(path) holds no certificate")
        }
        let key: RSAPrivateKey
        do { key = try RSAPrivateKey.parse(keySecret) } catch { throw .crypto(error) }
        var parsed: [Certificate] = []
        for der in certificates {
            do { parsed.append(try Certificate(der: der)) } catch { throw .corrupt("\(path): \(error)") }
        }
        guard key.matches(publicKeyInfo: parsed[0].publicKeyInfo) else {
            throw .corrupt("\(path): the key does not match the certificate")
        }
        _ = leaf
        return StoredIdentity(key: key, certificate: parsed[0], chain: Array(parsed.dropFirst()))
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
