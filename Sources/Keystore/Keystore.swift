import Crypto
import Encoding
import Platform
import X509

/// The identity in service: a private key, its certificate, the chain up to the pinned CA, and
/// the facts recorded when it was committed.
public struct StoredIdentity {
    public let key: RSAPrivateKey
    public let certificate: Certificate
    public let chain: [Certificate]
    public let metadata: IdentityMetadata
    public let generation: String
}

/// How the keystore was found on opening.
public struct KeystoreReport {
    /// Problems repaired or worked around, for the log: a corrupt current generation, stale files.
    public var warnings: [String] = []
}

/// The agent's state directory, which holds the device's identity for years.
///
///     DIR/                 0700, owned by the agent's user
///       lock               flock(2): one writer at a time
///       current            "generation=gen-000042" and the SHA-256 of its manifest: the commit point
///       previous           the same for the generation before, kept for rollback
///       gen-000042/        0700: key.pem (or key.enc), cert.pem, chain.pem, meta, manifest
///       state              the daemon's notes for `status` (last attempt, last error)
///
/// A new identity is written to a new `gen-N`, made durable, read back and verified, and
/// committed by atomically replacing `current`. Until then nothing names `gen-N`, so a crash at
/// any point leaves `current` naming a complete, verified generation: the old one or the new one.
public final class Keystore {
    public let directory: Directory
    private var lock: FileLock?
    /// AES-256 key for the private key at rest, derived from the device secret; nil stores PEM.
    private let sealingKey: SecretBytes?
    public private(set) var report = KeystoreReport()

    /// The warnings gathered so far, each returned once.
    public func takeWarnings() -> [String] {
        defer { report.warnings = [] }
        return report.warnings
    }

    static let maximumFileSize = 256 * 1024
    public static let defaultLockWait: Int64 = 3000

    /// Test hook: fail with EIO right after filesystem step number `failAfterStep` of a commit.
    var failAfterStep: Int? = nil
    private var step = 0

    /// Opens the keystore. `forWriting` takes the lock (waiting briefly) and cleans up after any
    /// crash; reading needs neither, because `current` only ever names a complete generation.
    public init(path: String, create: Bool, forWriting: Bool, deviceSecret: SecretBytes? = nil,
                lockWaitMilliseconds: Int64 = Keystore.defaultLockWait) throws(KeystoreError) {
        sealingKey = deviceSecret.map { SealedBox.deriveKey(fromDeviceSecret: $0) }
        if create && !fileExists(path) {
            do { try makeDirectory(path, permissions: 0o700) } catch { throw .system(error) }
        }
        if let status = try? fileStatus(path), status.kind == .symlink { throw .insecure("\(path) is a symlink") }
        directory = try lift { () throws(SystemError) in try Directory(path) }
        try checkOwnership()
        if forWriting {
            lock = try lift { () throws(SystemError) in try directory.lock("lock", timeoutMilliseconds: lockWaitMilliseconds) }
            guard lock != nil else {
                let holderBytes: [UInt8] = (try? directory.read("lock", limit: 64)) ?? []
                let holder = holderBytes.isEmpty ? "unknown" : String(decoding: holderBytes.filter { $0 > 0x20 }, as: UTF8.self)
                throw .locked("\(path) is in use by another scep-agent (pid \(holder)); not touching it")
            }
            try recover()
        }
    }

    deinit {
        lock?.release()
        sealingKey?.wipe()
    }

    public var path: String { directory.path }

    // MARK: Checks

    /// Refuses a directory or entry another user could read, write or redirect.
    private func checkOwnership() throws(KeystoreError) {
        let me = currentUserID()
        let status = try lift { () throws(SystemError) in try directory.status() }
        guard status.owner == me else { throw .insecure("\(path) is not owned by this user (uid \(me))") }
        guard status.permissions & 0o077 == 0 else {
            throw .insecure("\(path) is accessible to group or others (mode \(octal(status.permissions)); want 0700)")
        }
        for name in try lift({ () throws(SystemError) in try directory.entries() }) {
            try checkEntry(name, in: directory, owner: me)
            if GenerationFiles.number(name) != nil || name.hasSuffix(".staged") {
                // A writer may prune a generation while a reader scans; a vanished one is fine.
                let opened: Directory?
                do { opened = try directory.subdirectory(name) } catch {
                    if error.isNotFound { continue }
                    throw .system(error)
                }
                guard let generation = opened else { continue }
                let inners: [String]
                do { inners = try generation.entries() } catch {
                    if error.isNotFound { continue }
                    throw .system(error)
                }
                for inner in inners {
                    try checkEntry(inner, in: generation, owner: me)
                }
            }
        }
    }

    private func checkEntry(_ name: String, in directory: Directory, owner: UInt32) throws(KeystoreError) {
        guard let status = try lift({ () throws(SystemError) in try directory.status(of: name) }) else { return }
        let where_ = directory.path + "/" + name
        if status.kind == .symlink { throw .insecure("\(where_) is a symlink; refusing to follow links in the keystore") }
        if status.kind == .other { throw .insecure("\(where_) is not a regular file or directory") }
        if status.owner != owner { throw .insecure("\(where_) is owned by uid \(status.owner), not by this user") }
        if status.permissions & 0o077 != 0 {
            throw .insecure("\(where_) is accessible to group or others (mode \(octal(status.permissions)))")
        }
    }

    /// After a crash: stale temporary files and orphaned generations (written but never named by
    /// a pointer; `.staged` ones from earlier versions too) go. After a commit, which passes the
    /// generations it just named (`keeping`), the same sweep quietly prunes the generation before
    /// previous, which is routine.
    private func recover(keeping named: [String]? = nil) throws(KeystoreError) {
        let quietly = named != nil
        try lift { () throws(SystemError) in
            let keep = named ?? [readPointer("current")?.generation, readPointer("previous")?.generation].compactMap { $0 }
            var removed = false
            for name in try directory.entries() {
                if name.hasPrefix(".tmp-") {
                    try directory.remove(name)
                    removed = true
                    if !quietly { report.warnings.append("removed a stale temporary file \(name)") }
                } else if name.hasSuffix(".staged") || (GenerationFiles.number(name) != nil && !keep.contains(name)) {
                    try removeGeneration(name)
                    removed = true
                    if !quietly { report.warnings.append("removed an uncommitted generation \(name)") }
                }
            }
            // Removals need not be durable: anything a power cut brings back is swept again at
            // the next open. Syncing only after a crash's leftovers spares the flash.
            if removed && !quietly { try directory.sync() }
        }
    }

    private func removeGeneration(_ name: String) throws(SystemError) {
        let generation = try directory.subdirectory(name)
        for inner in try generation.entries() { try generation.remove(inner) }
        try directory.remove(name, directory: true)
    }

    private func readPointer(_ name: String) -> GenerationPointer? {
        guard let bytes = try? directory.read(name, limit: 4096) else { return nil }
        return GenerationPointer(bytes)
    }

    // MARK: Reading

    /// The identity in service, or nil on first boot. A current generation that fails its
    /// manifest, cannot be parsed or whose key does not match falls back to the previous one,
    /// with a warning in `report`.
    public func load() throws(KeystoreError) -> StoredIdentity? {
        let current = readPointer("current")
        let currentExists = (try? directory.status(of: "current")) != nil
        if current == nil && !currentExists { return nil }
        var failure = "the current pointer is unreadable"
        if let current {
            do { return try loadGeneration(current) } catch { failure = "\(error)" }
        }
        guard let previous = readPointer("previous") else { throw .corrupt("\(failure), and there is no previous identity to fall back to") }
        do {
            let identity = try loadGeneration(previous)
            report.warnings.append("the current identity is damaged (\(failure)); using the previous one, \(previous.generation)")
            return identity
        } catch {
            throw .corrupt("\(failure); the previous identity is damaged too: \(error)")
        }
    }

    func loadGeneration(_ pointer: GenerationPointer) throws(KeystoreError) -> StoredIdentity {
        let generation = try lift { () throws(SystemError) in try directory.subdirectory(pointer.generation) }
        return try Keystore.read(generation, name: pointer.generation, expectedManifest: pointer.manifestDigest, sealingKey: sealingKey)
    }

    /// Reads and checks a generation. With `knownKey` (the commit's own read-back) the key file
    /// is checked against the manifest like every other file, which proves it holds the bytes
    /// written, and is not parsed again.
    static func read(_ generation: Directory, name: String, expectedManifest: [UInt8]?,
                     sealingKey: SecretBytes?, knownKey: RSAPrivateKey? = nil) throws(KeystoreError) -> StoredIdentity {
        let manifestBytes = try lift { () throws(SystemError) in try generation.read(GenerationFiles.manifest, limit: 4096) }
        if let expectedManifest, DigestAlgorithm.sha256.hash(manifestBytes) != expectedManifest {
            throw .corrupt("\(name): the manifest does not match the pointer to it")
        }
        guard let manifest = GenerationFiles.parseManifest(manifestBytes) else { throw .corrupt("\(name): unreadable manifest") }
        // A small list, not a dictionary: five files, and no hashing code in the binary.
        var files: [(name: String, bytes: SecretBytes)] = []
        defer { for file in files { file.bytes.wipe() } }
        func file(_ name: String) -> SecretBytes? { files.first { $0.name == name }?.bytes }
        for entry in manifest {
            let bytes = SecretBytes(try lift { () throws(SystemError) in try generation.read(entry.name, limit: maximumFileSize) })
            files.append((entry.name, bytes))
            guard bytes.withBytes({ DigestAlgorithm.sha256.hash($0) }) == entry.digest else {
                throw .corrupt("\(name)/\(entry.name) is truncated or corrupt (SHA-256 differs from the manifest)")
            }
        }
        func publicFile(_ name: String) -> [UInt8] { file(name)?.withBytes { Array($0) } ?? [] }

        let key: RSAPrivateKey
        if let knownKey {
            key = knownKey
        } else {
            key = try parseKey(name: name, sealed: file(GenerationFiles.encryptedKey), pem: file(GenerationFiles.key),
                               sealingKey: sealingKey)
        }
        guard let certificateDER = PEM.decodeAll(publicFile(GenerationFiles.certificate), label: "CERTIFICATE")?.first else {
            throw .corrupt("\(name)/cert.pem holds no certificate")
        }
        let certificate: Certificate
        do { certificate = try Certificate(der: certificateDER) } catch { throw .corrupt("\(name)/cert.pem: \(error)") }
        guard key.matches(publicKeyInfo: certificate.publicKeyInfo) else {
            throw .corrupt("\(name): the key does not match the certificate")
        }
        var chain: [Certificate] = []
        for der in PEM.decodeAll(publicFile(GenerationFiles.chain), label: "CERTIFICATE") ?? [] {
            do { chain.append(try Certificate(der: der)) } catch { throw .corrupt("\(name)/chain.pem: \(error)") }
        }
        let metadata = IdentityMetadata(parsing: publicFile(GenerationFiles.meta))
        return StoredIdentity(key: key, certificate: certificate, chain: chain, metadata: metadata, generation: name)
    }

    static func parseKey(name: String, sealed: SecretBytes?, pem: SecretBytes?,
                         sealingKey: SecretBytes?) throws(KeystoreError) -> RSAPrivateKey {
        let keySecret: SecretBytes
        if let sealed {
            guard let sealingKey else { throw .corrupt("\(name): the key is encrypted at rest; the device secret is needed") }
            keySecret = try liftCrypto { () throws(CryptoError) in try SealedBox.open(sealed.withBytes { Array($0) }, key: sealingKey) }
        } else if let pem {
            guard let der = pem.withBytes({ PEM.decodeAll(Array($0), label: "RSA PRIVATE KEY")?.first }) else {
                throw .corrupt("\(name)/key.pem holds no RSA private key")
            }
            keySecret = SecretBytes(der)
        } else {
            throw .corrupt("\(name) has no key")
        }
        defer { keySecret.wipe() }
        return try liftCrypto { () throws(CryptoError) in try RSAPrivateKey.parse(keySecret) }
    }

    // MARK: Committing

    /// Stages, verifies and commits a new identity; the one in service becomes `previous`.
    /// `anchor` is the pinned CA: the certificate must chain to it. Nothing changes on failure.
    @discardableResult
    public func commit(key: RSAPrivateKey, certificate: Certificate, chain: [Certificate], anchor: Certificate,
                       metadata: IdentityMetadata, random: RandomGenerator, now: Int64?) throws(KeystoreError) -> StoredIdentity {
        guard lock != nil else { throw .corrupt("internal: the keystore was opened read-only") }
        guard key.matches(publicKeyInfo: certificate.publicKeyInfo) else {
            throw .corrupt("refusing to store a certificate that does not match its key")
        }
        step = 0
        let numbers = try lift { () throws(SystemError) in try directory.entries() }.compactMap { GenerationFiles.number($0) }
        let name = GenerationFiles.name((numbers.max() ?? 0) + 1)
        let staged = try stage(name, key: key, certificate: certificate, chain: chain, metadata: metadata, random: random)
        let pointer = GenerationPointer(generation: name, manifestDigest: DigestAlgorithm.sha256.hash(staged.manifest))

        // The new pointers, as temporaries, and everything written so far made durable in one
        // batch: the generation's files and directory, then the pointers and this directory
        // (which also makes the new generation's entry durable before anything names it).
        var replacements: [(target: String, file: UnsyncedFile)] = []
        var demoted: String? = nil   // the generation `previous` will name
        var committed = false
        // A daemon commits again in the same process, under the same temporary names: whatever
        // fails on the way, the temporaries go now (the orphaned generation goes with the next
        // sweep).
        defer { if !committed { for replacement in replacements { try? directory.remove(replacement.file.name) } } }
        try lift { () throws(SystemError) in
            if let current = try? directory.read("current", limit: 4096) {
                demoted = GenerationPointer(current)?.generation
                replacements.append(("previous", try directory.createTemporary(replacing: "previous", current, permissions: 0o600)))
                try checkpoint()
            }
            replacements.append(("current", try directory.createTemporary(replacing: "current", pointer.bytes, permissions: 0o600)))
            try checkpoint()
            try staged.generation.sync(staged.files)
            try checkpoint()
            try directory.sync(replacements.map { $0.file })
            try checkpoint()
        }

        // Verify what is on disk, not what we meant to write.
        let readBack = try Keystore.read(staged.generation, name: name, expectedManifest: pointer.manifestDigest,
                                         sealingKey: sealingKey, knownKey: key)
        guard readBack.certificate == certificate, key.matches(publicKeyInfo: readBack.certificate.publicKeyInfo) else {
            throw .corrupt("the staged identity does not read back as written")
        }
        do {
            _ = try ChainVerification.verify(readBack.certificate, anchor: anchor, intermediates: readBack.chain + [anchor], now: now)
        } catch {
            throw .corrupt("the staged certificate is not usable: \(error)")
        }

        // Into place, `previous` before `current`: the rename of `current` is the commit point.
        try lift { () throws(SystemError) in
            for replacement in replacements {
                try directory.rename(replacement.file.name, to: replacement.target)
                try checkpoint()
            }
            try directory.sync()
            committed = true
            try checkpoint()
        }
        try recover(keeping: [name, demoted].compactMap { $0 })
        return StoredIdentity(key: key, certificate: readBack.certificate, chain: readBack.chain, metadata: readBack.metadata,
                              generation: name)
    }

    /// Writes a generation's files into the new directory `name`, their writeback started but not
    /// waited for (the caller syncs them with the pointers, in one batch). Nothing names the
    /// generation yet: a crash leaves an orphan, swept at the next opening.
    private func stage(_ name: String, key: RSAPrivateKey, certificate: Certificate, chain: [Certificate],
                       metadata: IdentityMetadata, random: RandomGenerator)
        throws(KeystoreError) -> (generation: Directory, files: [UnsyncedFile], manifest: [UInt8]) {
        let keyDER = try liftCrypto { () throws(CryptoError) in try key.pkcs1DER() }
        defer { keyDER.wipe() }
        let sealed: [UInt8]? = try sealingKey.map { (sealingKey) throws(KeystoreError) in
            try liftCrypto { () throws(CryptoError) in try SealedBox.seal(keyDER, key: sealingKey, random: random) }
        }
        return try lift { () throws(SystemError) in
            try directory.makeSubdirectory(name, permissions: 0o700)
            try checkpoint()
            let generation = try directory.subdirectory(name)
            var pending: [UnsyncedFile] = []
            var written: [(name: String, digest: [UInt8])] = []
            if let sealed {
                pending.append(try generation.createUnsynced(GenerationFiles.encryptedKey, sealed, permissions: 0o600))
                written.append((GenerationFiles.encryptedKey, DigestAlgorithm.sha256.hash(sealed)))
            } else {
                let pem = SecretBytes(keyDER.withBytes { PEM.encodeBytes($0, label: "RSA PRIVATE KEY") })
                defer { pem.wipe() }
                pending.append(try pem.withBytes { (buffer) throws(SystemError) in
                    try generation.createUnsynced(GenerationFiles.key, buffer, permissions: 0o600)
                })
                written.append((GenerationFiles.key, pem.withBytes { DigestAlgorithm.sha256.hash($0) }))
            }
            try checkpoint()
            let files: [(String, [UInt8])] = [
                (GenerationFiles.certificate, Array(PEM.encode(certificate.der, label: "CERTIFICATE").utf8)),
                (GenerationFiles.chain, Array(chain.map { PEM.encode($0.der, label: "CERTIFICATE") }.joined().utf8)),
                (GenerationFiles.meta, metadata.bytes),
            ]
            for (file, bytes) in files {
                pending.append(try generation.createUnsynced(file, bytes, permissions: 0o600))
                written.append((file, DigestAlgorithm.sha256.hash(bytes)))
                try checkpoint()
            }
            let manifest = GenerationFiles.manifest(written)
            pending.append(try generation.createUnsynced(GenerationFiles.manifest, manifest, permissions: 0o600))
            try checkpoint()
            return (generation, pending, manifest)
        }
    }

    private func checkpoint() throws(SystemError) {
        step += 1
        if let failAfterStep, step == failAfterStep { throw SystemError("injected failure after step \(step)", code: EIOCode) }
    }

    // MARK: CA rollover

    /// The next CA certificate, fetched with GetNextCACert and verified against the current CA,
    /// kept until the current CA expires.
    public func writeNextCA(_ certificate: Certificate) throws(KeystoreError) {
        let pem = Array(PEM.encode(certificate.der, label: "CERTIFICATE").utf8)
        try lift { () throws(SystemError) in try directory.writeAtomically("next-ca.pem", pem, permissions: 0o600) }
    }

    public func readNextCA() -> Certificate? {
        guard let bytes = try? directory.read("next-ca.pem", limit: 64 * 1024),
              let der = PEM.decodeAll(bytes, label: "CERTIFICATE")?.first else { return nil }
        return try? Certificate(der: der)
    }

    public func removeNextCA() {
        try? directory.remove("next-ca.pem")
    }

    // MARK: Daemon notes

    /// The daemon's notes for `status`: `key=value` lines, replaced atomically.
    public func writeState(_ values: IdentityMetadata) throws(KeystoreError) {
        try lift { () throws(SystemError) in try directory.writeAtomically("state", values.bytes, permissions: 0o600) }
    }

    public func readState() -> IdentityMetadata {
        IdentityMetadata(parsing: (try? directory.read("state", limit: 64 * 1024)) ?? [])
    }
}

/// Runs a filesystem step, reporting its failure as a keystore error.
func lift<Value>(_ body: () throws(SystemError) -> Value) throws(KeystoreError) -> Value {
    do { return try body() } catch { throw .system(error) }
}

/// Runs a crypto step, reporting its failure as a keystore error.
func liftCrypto<Value>(_ body: () throws(CryptoError) -> Value) throws(KeystoreError) -> Value {
    do { return try body() } catch { throw .crypto(error) }
}

/// EIO, spelled without importing libc here.
let EIOCode: Int32 = 5

func octal(_ value: UInt32) -> String {
    var digits = ""
    var rest = value
    repeat {
        digits = String(rest % 8) + digits
        rest /= 8
    } while rest > 0
    return "0" + digits
}
