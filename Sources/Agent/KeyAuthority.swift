import ASN1
import Crypto
import Encoding
import Keystore
import Platform
import Protocol
import X509

/// The key side of a transaction: it holds the keystore, the keys, the challenge and the
/// configuration's pins, and answers the network side's requests (`KeyService`). It trusts
/// nothing the network side hands it: the CA certificates it seals the request to and the
/// certificate it commits are checked against its own pin, and each transaction may ask for
/// only a few key operations.
public final class KeyAuthority: KeyService {
    public let keystore: Keystore
    public var configuration: AgentConfiguration
    let random: RandomGenerator
    let logger: Logger
    /// Makes the new keys: in memory, or inside a TPM.
    let makeKey: (KeyType) throws(CryptoError) -> PrivateKey
    /// The wall clock the commit judges certificates by (tests simulate days in a moment).
    public var clock: () -> Int64 = { wallClockSeconds() }
    /// The factory challenge, read once at start and kept until the first enrollment succeeds.
    public var challenge: SecretBytes?
    /// The identity in service.
    public private(set) var identity: StoredIdentity?
    /// A transaction the server left PENDING, with its key.
    public private(set) var pending: (record: PendingRecord, key: PrivateKey)?

    // This transaction's state.
    private var kind: TransactionKind = .enroll
    private var key: PrivateKey?
    public private(set) var committed: StoredIdentity?
    private var budget = Budget()
    private var warned: [String] = []

    /// Key operations one transaction may ask for: enough for a request, its signer, and the
    /// reply; a compromised network side cannot use the key as an oracle beyond that.
    struct Budget {
        var signatures = 4
        var unwraps = 2
        var derivations = 2
        var seals = 1
        var commits = 1
    }

    public init(keystore: Keystore, configuration: AgentConfiguration, random: RandomGenerator, logger: Logger,
                makeKey: @escaping (KeyType) throws(CryptoError) -> PrivateKey) {
        self.keystore = keystore
        self.configuration = configuration
        self.random = random
        self.logger = logger
        self.makeKey = makeKey
    }

    /// Reads the identity in service and any pending transaction from the keystore.
    public func load() throws(KeystoreError) {
        // Nothing from an earlier load survives a failed one: a damaged keystore is not an
        // identity in service.
        identity = nil
        pending = nil
        identity = try keystore.load()
        if let stored = try keystore.loadPending(), let record = PendingRecord(metadata: stored.metadata, signer: stored.signer) {
            pending = (record, stored.key)
        }
    }

    /// Starts a transaction: a fresh budget, and no key yet.
    public func begin(_ kind: TransactionKind) {
        self.kind = kind
        key = kind == .poll ? pending?.key : nil
        committed = nil
        budget = Budget()
    }

    // MARK: KeyService

    public func transactionKey() throws(AgentFailure) -> PrivateKey {
        if let key { return key }
        guard kind != .poll else { throw AgentFailure(.failed, "there is no pending transaction") }
        if kind == .renew && configuration.reuseKey, let identity {
            logger.warn("renewing with the current key (--reuse-key)")
            key = identity.key
            return identity.key
        }
        let type = configuration.keyType ?? identity?.key.type ?? .defaultType
        let watch = Stopwatch()
        let made: PrivateKey
        do { made = try makeKey(type) } catch { throw AgentFailure(.failed, "\(error)") }
        logger.debug("key generated", [("type", type.name), ("storage", made.storage), ("ms", watch.milliseconds)])
        key = made
        return made
    }

    public func currentKey() throws(AgentFailure) -> PrivateKey {
        guard let identity else { throw AgentFailure(.failed, "there is no identity in service") }
        return identity.key
    }

    public func sealedRequest(certificates: [Certificate], cipher: ContentCipher, digest: DigestAlgorithm) throws(AgentFailure) -> [UInt8] {
        guard budget.seals > 0 else { throw AgentFailure(.failed, "the network side asked for a second request") }
        budget.seals -= 1
        // The algorithms come from the network side: this side holds them to the same rule as
        // the protocol code (AES and SHA-256 or better, unless weak algorithms are allowed).
        guard configuration.allowWeakCrypto || (!cipher.isWeak && !digest.isWeak) else {
            throw AgentFailure(.failed, "refused to seal the request with \(cipher.name) and \(digest.name)")
        }
        let key = try transactionKey()
        guard let subject = configuration.subject ?? identity?.certificate.subject else {
            throw AgentFailure(.configuration, "enrollment needs --subject")
        }
        do throws(SCEPError) {
            // The recipient is chosen here, from certificates checked against this side's pin:
            // the challenge goes only to a certificate this process trusts.
            let ca = try CACertificates(certificates: certificates, pin: configuration.pin, raPins: configuration.raPins, now: nil)
            let recipient = try ca.encryptionRecipient()
            // The challenge goes with a first enrollment, and with a renewal too when one is
            // configured (micromdm asks for it).
            return try CertificationRequestSeal.seal(subject: subject, extensions: configuration.extensions, key: key, challenge: challenge,
                                                     recipient: recipient, cipher: cipher, digest: digest, random: random)
        } catch {
            throw AgentFailure(error)
        }
    }

    public func password() -> PasswordSecret? {
        challenge.map { BudgetedPassword(LocalPassword($0), authority: self) }
    }

    public func commit(certificate: Certificate, chain: [Certificate]) throws(AgentFailure) {
        guard budget.commits > 0 else { throw AgentFailure(.failed, "the network side asked for a second commit") }
        budget.commits -= 1
        guard let key else { throw AgentFailure(.failed, "there is no key to commit") }
        guard let anchor = chain.first(where: { $0.sha256Fingerprint == configuration.pin }) else {
            throw AgentFailure(.failed, "the issued certificate's chain does not end in the pinned CA")
        }
        let committedAt = clock()
        if !certificate.isValid(at: committedAt) {
            logger.warn("the issued certificate is not valid at the local time; check the clock",
                        [("not_before", DERTime.iso8601(certificate.notBefore)), ("now", DERTime.iso8601(committedAt))])
        }
        let metadata = IdentityMetadata([
            ("subject", certificate.subject.rfc4514String), ("issuer", certificate.issuer.rfc4514String),
            ("serial", certificate.serialHex), ("not_before", DERTime.iso8601(certificate.notBefore)),
            ("not_after", DERTime.iso8601(certificate.notAfter)), ("committed_at", DERTime.iso8601(committedAt)),
            ("ca_sha256", Hex.encode(anchor.sha256Fingerprint)), ("via", kind == .enroll ? "enroll" : "renew"),
            ("key_storage", key.storage),
        ])
        let watch = Stopwatch()
        do {
            // The keystore checks the certificate against the key and its path to the anchor.
            committed = try keystore.commit(key: key, certificate: certificate, chain: chain, anchor: anchor, metadata: metadata,
                                            now: committedAt)
        } catch {
            throw AgentFailure(.failed, "\(error)")
        }
        identity = committed
        if pending != nil {
            pending = nil
            do { try keystore.clearPending() } catch {
                logger.warn("cannot remove the finished pending transaction", [("detail", "\(error)")])
            }
        }
        logger.debug("committed", [("ms", watch.milliseconds)])
    }

    public func notePending(_ record: PendingRecord) throws(AgentFailure) {
        guard let key else { throw AgentFailure(.failed, "there is no key for the pending transaction") }
        if pending?.record.transactionID == record.transactionID {
            pending = (record, key)
            return
        }
        do { try keystore.writePending(key: key, signer: record.signer, metadata: record.metadata) } catch {
            throw AgentFailure(.failed, "\(error)")
        }
        pending = (record, key)
    }

    public func warn(_ warning: ProtocolWarning) { warn(text: "\(warning)") }

    /// A warning as the network process words it; each is logged once per run.
    public func warn(text: String) {
        guard !warned.contains(text) else { return }
        if warned.count < 32 { warned.append(text) }
        logger.warn("weak or fallback", [("detail", text)])
    }

    // MARK: Key operations for a network side in another process

    /// Which key a remote request means.
    public enum KeyRole: Equatable, Sendable {
        case transaction, current
    }

    /// The key for `role`, if this transaction may use it: the identity in service's key signs
    /// and opens only for a renewal (or the poll of one), never for a first enrollment.
    public func key(for role: KeyRole) throws(AgentFailure) -> PrivateKey {
        switch role {
        case .transaction: return try transactionKey()
        case .current:
            let renewing = kind == .renew || (kind == .poll && pending?.record.signedByCurrent == true)
            guard renewing else { throw AgentFailure(.failed, "the identity's key is not used in this transaction") }
            return try currentKey()
        }
    }

    public func sign(role: KeyRole, digest: [UInt8], algorithm: DigestAlgorithm) throws(AgentFailure) -> [UInt8] {
        guard budget.signatures > 0 else { throw AgentFailure(.failed, "too many signatures asked in one transaction") }
        budget.signatures -= 1
        let key = try key(for: role)
        do throws(CryptoError) { return try key.sign(digest: digest, algorithm: algorithm) } catch { throw AgentFailure(.failed, .crypto(error)) }
    }

    public func decrypt(role: KeyRole, encryptedKey: [UInt8]) throws(AgentFailure) -> SecretBytes {
        guard budget.unwraps > 0 else { throw AgentFailure(.failed, "too many content keys asked in one transaction") }
        budget.unwraps -= 1
        let key = try key(for: role)
        do throws(CryptoError) { return try key.decrypt(encryptedKey) } catch { throw AgentFailure(.failed, .crypto(error)) }
    }

    public func agree(role: KeyRole, peerPoint: [UInt8]) throws(AgentFailure) -> SecretBytes {
        guard budget.unwraps > 0 else { throw AgentFailure(.failed, "too many content keys asked in one transaction") }
        budget.unwraps -= 1
        let key = try key(for: role)
        do throws(CryptoError) { return try key.agree(peerPoint: peerPoint) } catch { throw AgentFailure(.failed, .crypto(error)) }
    }

    /// Forgets the pending transaction (refused, or polled past --poll-timeout).
    public func abandonPending() {
        pending = nil
        try? keystore.clearPending()
    }

    /// Random bytes from the key side's generator (the daemon's jitter).
    public func randomBytes(_ count: Int) throws(CryptoError) -> [UInt8] { try random.bytes(count) }

    /// A key derivation from the challenge, counted against the transaction's budget.
    func spendDerivation() -> Bool {
        guard budget.derivations > 0 else { return false }
        budget.derivations -= 1
        return true
    }
}

/// The challenge as the network side sees it: key derivations, within the transaction's budget.
final class BudgetedPassword: PasswordSecret {
    let inner: LocalPassword
    let authority: KeyAuthority

    init(_ inner: LocalPassword, authority: KeyAuthority) {
        self.inner = inner
        self.authority = authority
        super.init()
    }

    override func deriveKey(salt: [UInt8], iterations: Int, keyLength: Int, digest: DigestAlgorithm) throws(CryptoError) -> SecretBytes {
        guard authority.spendDerivation() else { throw CryptoError(.keyHolder("too many key derivations in one transaction")) }
        return try inner.deriveKey(salt: salt, iterations: iterations, keyLength: keyLength, digest: digest)
    }
}

extension PendingRecord {
    /// The record as keystore metadata, and back.
    var metadata: IdentityMetadata {
        IdentityMetadata([
            ("transaction_id", transactionID), ("message_type", messageType.rawValue), ("subject", subject.rfc4514String),
            ("subject_der", Hex.encode(subject.derEncoded)), ("signed_by_current", signedByCurrent ? "yes" : "no"),
            ("since", "\(since)"),
        ])
    }

    init?(metadata: IdentityMetadata, signer: Certificate) {
        guard let transaction = metadata["transaction_id"], !transaction.isEmpty, transaction.utf8.count <= 128,
              let type = metadata["message_type"].flatMap(MessageType.init(rawValue:)),
              let subjectDER = metadata["subject_der"].flatMap(Hex.decode),
              let subject = try? DistinguishedName(derEncoded: subjectDER),
              let since = metadata["since"].flatMap({ Numbers.parse($0.utf8, limit: UInt64(Int64.max)) }) else { return nil }
        self.init(transactionID: transaction, messageType: type, subject: subject, signer: signer,
                  signedByCurrent: metadata["signed_by_current"] == "yes", since: Int64(since))
    }
}
