import Crypto
import Encoding
import Platform
import X509

/// The identity in service: a private key, its certificate, the chain up to the pinned CA, and
/// the facts recorded when it was committed.
public struct StoredIdentity {
    public let key: PrivateKey
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
    /// Feeds the software keys read from disk (RSA blinding, ECDSA nonces).
    private let random: RandomGenerator
    /// Loads keys whose holder keeps them (a TPM's wrapped blobs), by their stored format.
    private let heldKeys: HeldKeyLoader?
    public private(set) var report = KeystoreReport()

    /// Loads a key its holder keeps, from the format and blob `PrivateKey.heldForm` gave.
    public typealias HeldKeyLoader = (_ format: String, _ blob: [UInt8]) throws(CryptoError) -> PrivateKey

    /// The warnings gathered so far, each returned once.
    public func takeWarnings() -> [String] {
        defer { report.warnings = [] }
        return report.warnings
    }

    static let maximumFileSize = 256 * 1024
    public static let defaultLockWait: Int64 = 3000

    /// Opens the keystore. `forWriting` takes the lock (waiting briefly) and cleans up after any
    /// crash; reading needs neither, because `current` only ever names a complete generation.
    public init(path: String, create: Bool, forWriting: Bool, deviceSecret: SecretBytes? = nil, random: RandomGenerator,
                heldKeys: HeldKeyLoader? = nil, lockWaitMilliseconds: Int64 = Keystore.defaultLockWait) throws(KeystoreError) {
        sealingKey = deviceSecret.map { SealedBox.deriveKey(fromDeviceSecret: $0) }
        self.random = random
        self.heldKeys = heldKeys
        if create && !fileExists(path) {
            do { try makeDirectory(path, permissions: 0o700) } catch { throw .system(error) }
        }
        if let status = try? fileStatus(path), status.kind == .symlink { throw .insecure(path: path, .symlink) }
        directory = try lift { () throws(SystemError) in try Directory(path) }
        try checkOwnership()
        if forWriting {
            lock = try lift { () throws(SystemError) in try directory.lock("lock", timeoutMilliseconds: lockWaitMilliseconds) }
            guard lock != nil else {
                let holderBytes: [UInt8] = (try? directory.read("lock", limit: 64)) ?? []
                let holder = holderBytes.isEmpty ? "unknown" : String(decoding: holderBytes.filter { $0 > 0x20 && $0 < 0x7f }, as: UTF8.self)
                throw .locked(path: path, holder: holder)
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
        guard status.owner == me else { throw .insecure(path: path, .notOwnedByUs(me)) }
        guard status.permissions & 0o077 == 0 else { throw .insecure(path: path, .loosePermissions(status.permissions)) }
        for name in try lift({ () throws(SystemError) in try directory.entries() }) {
            try checkEntry(name, in: directory, owner: me)
            if GenerationFiles.number(name) != nil || name.hasUTF8Suffix(".staged") {
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
        if status.kind == .symlink { throw .insecure(path: where_, .symlink) }
        if status.kind == .other { throw .insecure(path: where_, .notRegular) }
        if status.owner != owner { throw .insecure(path: where_, .foreignOwner(status.owner)) }
        if status.permissions & 0o077 != 0 { throw .insecure(path: where_, .loosePermissions(status.permissions)) }
    }

    /// After a crash: stale temporary files and orphaned generations (written but never named by
    /// a pointer; `.staged` ones from earlier versions too) go. After a commit, which passes the
    /// generations it just named (`keeping`), the same sweep quietly prunes the generation before
    /// previous, which is routine.
    private func recover(keeping named: [String]? = nil) throws(KeystoreError) {
        let quietly = named != nil
        try lift { () throws(SystemError) in
            // A pending transaction's generation (its key waits for the certificate) is kept too.
            let keep = (named ?? generations(namedBy: Keystore.inServicePointers)) + generations(namedBy: [Keystore.pendingPointer])
            var removed = false
            for name in try directory.entries() {
                if name.hasUTF8Prefix(".tmp-") {
                    try directory.remove(name)
                    removed = true
                    if !quietly { report.warnings.append("removed a stale temporary file \(name)") }
                } else if name.hasUTF8Suffix(".staged") || (GenerationFiles.number(name) != nil && !keep.contains(name)) {
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

    /// A name for a new generation that no directory has and no pointer names: a pointer whose
    /// generation was deleted must not come to name a new one by chance.
    private func newGenerationName() throws(KeystoreError) -> String {
        let entries = try lift { () throws(SystemError) in try directory.entries() }
        let pointed = generations(namedBy: Keystore.inServicePointers + [Keystore.pendingPointer])
        return GenerationFiles.nextName(among: entries + pointed)
    }

    /// The pointers that name the identity in service.
    private static let inServicePointers = ["current", "previous"]

    /// The generations the pointers `names` name, of those that exist and parse.
    private func generations(namedBy names: [String]) -> [String] {
        names.compactMap { readPointer($0)?.generation }
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
        var failure = KeystoreError.damaged(generation: "current", .unreadablePointer)
        if let current {
            do { return try loadGeneration(current) } catch { failure = error }
        }
        guard let previous = readPointer("previous") else { throw .unusable(current: failure.reason, previous: nil) }
        do {
            let identity = try loadGeneration(previous)
            report.warnings.append("the current identity is damaged (\(failure.reason)); using the previous one, \(previous.generation)")
            return identity
        } catch {
            throw .unusable(current: failure.reason, previous: error.reason)
        }
    }

    func loadGeneration(_ pointer: GenerationPointer) throws(KeystoreError) -> StoredIdentity {
        let generation = try lift { () throws(SystemError) in try directory.subdirectory(pointer.generation) }
        return try read(generation, name: pointer.generation, expectedManifest: pointer.manifestDigest)
    }

    /// Reads and checks a generation. With `knownKey` (the commit's own read-back) the key file
    /// is checked against the manifest like every other file, which proves it holds the bytes
    /// written, and is not parsed again.
    func read(_ generation: Directory, name: String, expectedManifest: [UInt8]?,
              knownKey: PrivateKey? = nil, keyMatchesCertificate: Bool = true) throws(KeystoreError) -> StoredIdentity {
        let manifestBytes = try lift { () throws(SystemError) in try generation.read(GenerationFiles.manifest, limit: 4096) }
        if let expectedManifest, DigestAlgorithm.sha256.hash(manifestBytes) != expectedManifest {
            throw .damaged(generation: name, .manifestMismatch)
        }
        guard let manifest = GenerationFiles.parseManifest(manifestBytes) else { throw .damaged(generation: name, .unreadableManifest) }
        // A small list, not a dictionary: five files, and no hashing code in the binary.
        var files: [(name: String, bytes: SecretBytes)] = []
        defer { for file in files { file.bytes.wipe() } }
        func file(_ name: String) -> SecretBytes? { files.first { $0.name == name }?.bytes }
        for entry in manifest {
            let bytes = SecretBytes(try lift { () throws(SystemError) in try generation.read(entry.name, limit: Keystore.maximumFileSize) })
            files.append((entry.name, bytes))
            guard bytes.withBytes({ DigestAlgorithm.sha256.hash($0) }) == entry.digest else {
                throw .damaged(generation: name, .corruptFile(entry.name))
            }
        }
        func publicFile(_ name: String) -> [UInt8] { file(name)?.withBytes { Array($0) } ?? [] }

        let key: PrivateKey
        if let knownKey {
            key = knownKey
        } else {
            key = try loadKey(name, files: files)
        }
        guard let certificateDER = PEM.decodeAll(publicFile(GenerationFiles.certificate), label: "CERTIFICATE")?.first else {
            throw .damaged(generation: name, .noCertificate)
        }
        let certificate: Certificate
        do { certificate = try Certificate(der: certificateDER) } catch { throw .damaged(generation: name, .certificate(error)) }
        guard !keyMatchesCertificate || key.matches(publicKeyInfo: certificate.publicKeyInfo) else {
            throw .damaged(generation: name, .keyMismatch)
        }
        var chain: [Certificate] = []
        for der in PEM.decodeAll(publicFile(GenerationFiles.chain), label: "CERTIFICATE") ?? [] {
            do { chain.append(try Certificate(der: der)) } catch { throw .damaged(generation: name, .chain(error)) }
        }
        let metadata = IdentityMetadata(parsing: publicFile(GenerationFiles.meta))
        return StoredIdentity(key: key, certificate: certificate, chain: chain, metadata: metadata, generation: name)
    }

    /// The generation's key: PEM (read by mbedTLS where it lies, never copied), sealed with the
    /// device secret, or held by a device (a TPM) and loaded through it.
    func loadKey(_ name: String, files: [(name: String, bytes: SecretBytes)]) throws(KeystoreError) -> PrivateKey {
        func loading(_ body: () throws(CryptoError) -> PrivateKey) throws(KeystoreError) -> PrivateKey {
            do { return try body() } catch { throw .damaged(generation: name, .unloadableKey(error)) }
        }
        for file in files {
            switch file.name {
            case GenerationFiles.encryptedKey:
                guard let sealingKey else { throw .damaged(generation: name, .needsDeviceSecret) }
                return try loading { () throws(CryptoError) in
                    let der = try SealedBox.open(file.bytes.withBytes { Array($0) }, key: sealingKey)
                    defer { der.wipe() }
                    return try SoftwareKey.parse(der, random: random)
                }
            case GenerationFiles.key:
                return try loading { () throws(CryptoError) in try SoftwareKey.parse(file.bytes, random: random) }
            default:
                guard let format = GenerationFiles.heldKeyFormat(file.name) else { continue }
                guard let heldKeys else {
                    throw .damaged(generation: name, .unloadableKey(CryptoError(.keyHolder("no \(format) device is configured"))))
                }
                return try loading { () throws(CryptoError) in try heldKeys(format, file.bytes.withBytes { Array($0) }) }
            }
        }
        throw .damaged(generation: name, .noKey)
    }

    // MARK: Committing

    /// Observes each filesystem step of a commit, and may fail it: how the tests cut a commit
    /// after every step to prove that what is left is the old identity or the new one.
    public typealias StepObserver = (_ step: Int) throws(SystemError) -> Void

    /// Stages, verifies and commits a new identity; the one in service becomes `previous`.
    /// `anchor` is the pinned CA: the certificate must have a valid path to it. Nothing changes
    /// on failure.
    @discardableResult
    public func commit(key: PrivateKey, certificate: Certificate, chain: [Certificate], anchor: Certificate,
                       metadata: IdentityMetadata, now: Int64?, observer: StepObserver? = nil) throws(KeystoreError) -> StoredIdentity {
        guard lock != nil else { throw .readOnly }
        guard key.matches(publicKeyInfo: certificate.publicKeyInfo) else { throw .refused(.keyMismatch) }
        let steps = StepCounter(observer)
        let name = try newGenerationName()
        let staged = try stage(name, key: key, certificate: certificate, chain: chain, metadata: metadata, steps: steps)
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
                try steps.step()
            }
            replacements.append(("current", try directory.createTemporary(replacing: "current", pointer.bytes, permissions: 0o600)))
            try steps.step()
            try staged.generation.sync(staged.files)
            try steps.step()
            try directory.sync(replacements.map { $0.file })
            try steps.step()
        }

        let readBack = try verifyStaged(staged.generation, name: name, pointer: pointer, key: key, certificate: certificate,
                                        anchor: anchor, now: now)

        // Into place, `previous` before `current`: the rename of `current` is the commit point.
        try lift { () throws(SystemError) in
            for replacement in replacements {
                try directory.rename(replacement.file.name, to: replacement.target)
                try steps.step()
            }
            try directory.sync()
            committed = true
            try steps.step()
        }
        try recover(keeping: [name, demoted].compactMap { $0 })
        return StoredIdentity(key: key, certificate: readBack.certificate, chain: readBack.chain, metadata: readBack.metadata,
                              generation: name)
    }

    /// The staged generation as read back from disk (what is there, not what was meant to be
    /// written): the same certificate, for the same key, with a valid path to the anchor.
    private func verifyStaged(_ generation: Directory, name: String, pointer: GenerationPointer, key: PrivateKey,
                              certificate: Certificate, anchor: Certificate, now: Int64?) throws(KeystoreError) -> StoredIdentity {
        let readBack = try read(generation, name: name, expectedManifest: pointer.manifestDigest, knownKey: key)
        guard readBack.certificate == certificate, key.matches(publicKeyInfo: readBack.certificate.publicKeyInfo) else {
            throw .refused(.notAsWritten)
        }
        do throws(PathError) {
            _ = try PathValidation.validate(readBack.certificate, anchor: anchor, intermediates: readBack.chain, now: now)
        } catch {
            throw .refused(.untrusted(error))
        }
        return readBack
    }

    /// Writes a generation's files into the new directory `name`, their writeback started but not
    /// waited for (the caller syncs them with the pointers, in one batch). Nothing names the
    /// generation yet: a crash leaves an orphan, swept at the next opening.
    func stage(_ name: String, key: PrivateKey, certificate: Certificate, chain: [Certificate],
                       metadata: IdentityMetadata, steps: StepCounter)
        throws(KeystoreError) -> (generation: Directory, files: [UnsyncedFile], manifest: [UInt8]) {
        let keyFile = try storedKey(key)
        defer { keyFile.bytes.wipe() }
        return try lift { () throws(SystemError) in
            try directory.makeSubdirectory(name, permissions: 0o700)
            try steps.step()
            let generation = try directory.subdirectory(name)
            var pending: [UnsyncedFile] = []
            var written: [(name: String, digest: [UInt8])] = []
            pending.append(try keyFile.bytes.withBytes { (buffer) throws(SystemError) in
                try generation.createUnsynced(keyFile.name, buffer, permissions: 0o600)
            })
            written.append((keyFile.name, keyFile.bytes.withBytes { DigestAlgorithm.sha256.hash($0) }))
            try steps.step()
            let files: [(String, [UInt8])] = [
                (GenerationFiles.certificate, Array(PEM.encode(certificate.der, label: "CERTIFICATE").utf8)),
                (GenerationFiles.chain, Array(chain.map { PEM.encode($0.der, label: "CERTIFICATE") }.joined().utf8)),
                (GenerationFiles.meta, metadata.bytes),
            ]
            for (file, bytes) in files {
                pending.append(try generation.createUnsynced(file, bytes, permissions: 0o600))
                written.append((file, DigestAlgorithm.sha256.hash(bytes)))
                try steps.step()
            }
            let manifest = GenerationFiles.manifest(written)
            pending.append(try generation.createUnsynced(GenerationFiles.manifest, manifest, permissions: 0o600))
            try steps.step()
            return (generation, pending, manifest)
        }
    }

    /// The key file of a generation: a software key as PEM (or sealed with the device secret),
    /// a held key (a TPM's) as the blob its holder loads it from.
    private func storedKey(_ key: PrivateKey) throws(KeystoreError) -> (name: String, bytes: SecretBytes) {
        if let held = key.heldForm { return (GenerationFiles.heldKey(held.format), SecretBytes(held.blob)) }
        guard let software = key as? SoftwareKey else { throw .refused(.keyNotExportable) }
        let der = try liftCrypto { () throws(CryptoError) in try software.privateKeyDER() }
        defer { der.wipe() }
        if let sealingKey {
            let sealed = try liftCrypto { () throws(CryptoError) in try SealedBox.seal(der, key: sealingKey, random: random) }
            return (GenerationFiles.encryptedKey, SecretBytes(sealed))
        }
        return (GenerationFiles.key, SecretBytes(der.withBytes { PEM.encodeBytes($0, label: software.pemLabel) }))
    }

    // MARK: Pending transactions

    /// The pointer to a generation that holds a PENDING transaction's key (RFC 8894 3.3.3): its
    /// certificate file holds the request's signer, its meta the transaction.
    static let pendingPointer = "pending"

    /// Keeps a PENDING transaction's key and facts, crash-safely, as a generation that `pending`
    /// names: a restart resumes polling with the same transaction and key instead of sending a
    /// new request. `signer` is the certificate the request was signed with.
    public func writePending(key: PrivateKey, signer: Certificate, metadata: IdentityMetadata) throws(KeystoreError) {
        guard lock != nil else { throw .readOnly }
        let steps = StepCounter(nil)
        let name = try newGenerationName()
        let staged = try stage(name, key: key, certificate: signer, chain: [], metadata: metadata, steps: steps)
        let pointer = GenerationPointer(generation: name, manifestDigest: DigestAlgorithm.sha256.hash(staged.manifest))
        let previous = readPointer(Keystore.pendingPointer)?.generation
        try lift { () throws(SystemError) in
            let temporary = try directory.createTemporary(replacing: Keystore.pendingPointer, pointer.bytes, permissions: 0o600)
            try staged.generation.sync(staged.files)
            try directory.sync([temporary])
            try directory.rename(temporary.name, to: Keystore.pendingPointer)
            try directory.sync()
        }
        if let previous, previous != name { try? lift { () throws(SystemError) in try removeGeneration(previous) } }
    }

    /// The pending transaction's key, signer certificate and facts; nil when there is none.
    public func loadPending() throws(KeystoreError) -> (key: PrivateKey, signer: Certificate, metadata: IdentityMetadata)? {
        guard let pointer = readPointer(Keystore.pendingPointer) else { return nil }
        let generation = try lift { () throws(SystemError) in try directory.subdirectory(pointer.generation) }
        let stored = try read(generation, name: pointer.generation, expectedManifest: pointer.manifestDigest, keyMatchesCertificate: false)
        return (stored.key, stored.certificate, stored.metadata)
    }

    /// Forgets the pending transaction: issued, refused, or abandoned after --poll-timeout.
    public func clearPending() throws(KeystoreError) {
        guard let pointer = readPointer(Keystore.pendingPointer) else { return }
        // Never the identity in service, whatever the pointer says.
        let inService = generations(namedBy: Keystore.inServicePointers)
        try lift { () throws(SystemError) in
            try directory.remove(Keystore.pendingPointer)
            try directory.sync()
            if !inService.contains(pointer.generation) { try? removeGeneration(pointer.generation) }
        }
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

/// Counts a commit's filesystem steps for its observer.
final class StepCounter {
    private let observer: Keystore.StepObserver?
    private var count = 0

    init(_ observer: Keystore.StepObserver?) { self.observer = observer }

    func step() throws(SystemError) {
        count += 1
        try observer?(count)
    }
}

/// Runs a crypto step, reporting its failure as a keystore error.
func liftCrypto<Value>(_ body: () throws(CryptoError) -> Value) throws(KeystoreError) -> Value {
    do { return try body() } catch { throw .crypto(error) }
}
