import Crypto
import Encoding
import Platform
import X509

/// The copies of the identity that other services read: `--cert-out`, `--chain-out`,
/// `--key-out` and `--bundle-out` (key, certificate and chain in one file).
///
/// Each file is replaced atomically, with its owner, group and mode set before the rename. A
/// reader of the bundle can never see a key and certificate that do not belong together; readers
/// of separate key and certificate files can, for the instant between the two renames, which is
/// why the bundle exists. At start the agent rewrites any copy that differs from the keystore.
public struct PublishedCopies {
    public var certificatePath: String?
    public var chainPath: String?
    public var keyPath: String?
    public var bundlePath: String?
    /// Mode of the certificate and chain copies.
    public var publicMode: UInt32 = 0o644
    /// Mode of the key and bundle copies.
    public var privateMode: UInt32 = 0o600
    public var owner: UInt32?
    public var group: UInt32?

    public init() {}

    public var isEmpty: Bool { certificatePath == nil && chainPath == nil && keyPath == nil && bundlePath == nil }

    /// Writes every configured copy whose content differs from `identity` (all of them with
    /// `force`). Returns the paths it wrote.
    @discardableResult
    public func publish(key: PrivateKey, certificate: Certificate, chain: [Certificate],
                        force: Bool = true) throws(KeystoreError) -> [String] {
        var written: [String] = []
        let certificatePEM = Array(PEM.encode(certificate.der, label: "CERTIFICATE").utf8)
        let chainPEM = Array(chain.map { PEM.encode($0.der, label: "CERTIFICATE") }.joined().utf8)
        try write(certificatePath, certificatePEM, mode: publicMode, force: force, into: &written)
        try write(chainPath, chainPEM, mode: publicMode, force: force, into: &written)
        guard keyPath != nil || bundlePath != nil else { return written }
        guard let software = key as? SoftwareKey else { throw .refused(.keyNotExportable) }
        let keyDER = try liftCrypto { () throws(CryptoError) in try software.privateKeyDER() }
        let keyPEM = SecretBytes(keyDER.withBytes { PEM.encodeBytes($0, label: software.pemLabel) })
        keyDER.wipe()
        defer { keyPEM.wipe() }
        try keyPEM.withBytes { (buffer) throws(KeystoreError) in
            try write(keyPath, buffer, mode: privateMode, force: force, into: &written)
        }
        if bundlePath != nil {
            // Assembled in place: a concatenation would leave copies of the key in freed memory.
            let bundle = SecretBytes(count: keyPEM.count + certificatePEM.count + chainPEM.count)
            bundle.withMutableBytes { out in
                var offset = 0
                keyPEM.withBytes { for byte in $0 { out[offset] = byte; offset += 1 } }
                for byte in certificatePEM + chainPEM { out[offset] = byte; offset += 1 }
            }
            defer { bundle.wipe() }
            try bundle.withBytes { (buffer) throws(KeystoreError) in
                try write(bundlePath, buffer, mode: privateMode, force: force, into: &written)
            }
        }
        return written
    }

    private func write(_ path: String?, _ bytes: [UInt8], mode: UInt32, force: Bool, into written: inout [String]) throws(KeystoreError) {
        try bytes.withUnsafeBufferPointer { (buffer) throws(KeystoreError) in try write(path, buffer, mode: mode, force: force, into: &written) }
    }

    private func write(_ path: String?, _ bytes: UnsafeBufferPointer<UInt8>, mode: UInt32, force: Bool,
                       into written: inout [String]) throws(KeystoreError) {
        guard let path else { return }
        if !force, let existing = try? readFile(path, limit: Keystore.maximumFileSize) {
            let same = existing.elementsEqual(bytes)
            SecretBytes(existing).wipe()
            if same, let status = try? fileStatus(path, followSymlinks: true), status.permissions == mode { return }
        }
        try lift { () throws(SystemError) in try writeFileAtomically(path, bytes, permissions: mode, owner: owner, group: group) }
        written.append(path)
    }
}

extension Array where Element == UInt8 {
    func elementsEqual(_ buffer: UnsafeBufferPointer<UInt8>) -> Bool {
        count == buffer.count && withUnsafeBufferPointer { mine in
            for index in 0..<count where mine[index] != buffer[index] { return false }
            return true
        }
    }
}
