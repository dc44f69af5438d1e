import ASN1
import CMS
import Crypto
import Encoding
import Keystore
import Platform
import Protocol
import X509

/// The key side of a transaction: it holds the keystore, the keys, the challenge and the
/// configuration's pins, and answers the network side's requests (`KeyService`).
///
/// It trusts nothing the network side hands it. The CA certificates it encrypts the request to
/// are checked against its own pin and clock, and an end-entity recipient nothing marks as an RA
/// must be pinned; every signature is over a message it assembled itself; the reply is verified
/// here (signed by the pinned CA or an RA under it, for this transaction and nonce) before any
/// private key opens it; the certificate it commits is the one that reply issued for its key, on
/// a path to its pin, and the chain it stores is the path it validated. Each transaction may
/// ask each thing once.
public final class KeyAuthority: KeyService {
    public let keystore: Keystore
    public var configuration: AgentConfiguration
    let random: RandomGenerator
    let logger: Logger
    /// Makes the new keys: in memory, or inside a TPM.
    let makeKey: (KeyType, KeyStorage) throws(CryptoError) -> PrivateKey
    /// The wall clock the key side judges certificates by (tests simulate days in a moment).
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
    /// The request this side built and signed, the key that signed it (which opens the reply),
    /// and the CA certificates it checked: the reply must be signed by one of them.
    private var outgoing: (request: OutgoingRequest, signerKey: PrivateKey, ca: CACertificates)?
    public private(set) var committed: StoredIdentity?
    /// The FAILURE this transaction's reply carried, verified here: the network side's word on a
    /// refusal is never taken.
    public private(set) var refusal: SCEPError?
    private var budget = Budget()
    private var warned: [String] = []

    /// What one transaction may ask for: one request, and one reply to it.
    struct Budget {
        var requests = 1
        var replies = 1
    }

    public init(keystore: Keystore, configuration: AgentConfiguration, random: RandomGenerator, logger: Logger,
                makeKey: @escaping (KeyType, KeyStorage) throws(CryptoError) -> PrivateKey) {
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
        if let stored = try keystore.loadPending() {
            if let record = PendingRecord(metadata: stored.metadata, signer: stored.signer) {
                pending = (record, stored.key)
            } else {
                logger.warn("ignored an unreadable pending transaction in the keystore")
            }
        }
    }

    /// Starts a transaction: a fresh budget, and no key yet.
    public func begin(_ kind: TransactionKind) {
        self.kind = kind
        key = kind == .poll ? pending?.key : nil
        outgoing = nil
        committed = nil
        refusal = nil
        budget = Budget()
    }

    /// What the network side's end of a transaction means, read from this side's own state.
    public func outcome(of end: TransactionEnd) throws(AgentFailure) -> TransactionOutcome {
        switch end {
        case .issued:
            guard let committed else { throw AgentFailure.outOfOrder(.issuedNeverCommitted) }
            return .issued(committed.certificate)
        case .pending:
            guard let pending, pending.record.transactionID == outgoing?.request.transactionID else {
                throw AgentFailure.outOfOrder(.pendingNeverReported)
            }
            return .pending(pending.record)
        }
    }

    /// This transaction's key: a new one of the configured type, the one in service with
    /// --reuse-key, or the pending transaction's.
    func transactionKey() throws(AgentFailure) -> PrivateKey {
        if let key { return key }
        guard kind != .poll else { throw AgentFailure.outOfOrder(.noPendingTransaction) }
        if kind == .renew && configuration.reuseKey, let identity {
            logger.warn("renewing with the current key (--reuse-key)")
            key = identity.key
            return identity.key
        }
        // Unconfigured, a renewal keeps the kind and the home of the key in service: a TPM-backed
        // identity never moves to a file because an option was left out.
        let type = configuration.keyType ?? identity?.key.type ?? .defaultType
        let storage = configuration.keyStorage ?? identity?.key.storage ?? .file
        if storage == .file && identity?.key.storage == .tpm {
            logger.warn("the new key goes into a file: --key-storage file moves the identity out of the TPM")
        }
        let watch = Stopwatch()
        let made: PrivateKey
        do { made = try makeKey(type, storage) } catch { throw AgentFailure(.failed, .crypto(error)) }
        logger.debug("key generated", [("type", type.name), ("storage", made.storage.name), ("ms", watch.milliseconds)])
        key = made
        return made
    }

    // MARK: KeyService

    public func request(certificates: [Certificate], cipher: ContentCipher, digest: DigestAlgorithm,
                        supportsRenewal: Bool) throws(AgentFailure) -> OutgoingRequest {
        guard budget.requests > 0 else { throw AgentFailure.outOfOrder(.secondRequest) }
        budget.requests -= 1
        // The algorithms come from the network side: this side holds them to the same rule as
        // the protocol code (AES and SHA-256 or better, unless weak algorithms are allowed).
        guard configuration.allowWeakCrypto || (!cipher.isWeak && !digest.isWeak) else {
            throw AgentFailure(.failed, .weakAlgorithms(cipher: cipher.name, digest: digest.name))
        }
        let now = clock()
        let plan = try plan()
        let built: OutgoingRequest
        let ca: CACertificates
        do throws(SCEPError) {
            // The recipient is chosen here, from certificates checked against this side's pin
            // and clock: the challenge goes only to a certificate this process trusts.
            ca = try CACertificates(certificates: certificates, pin: configuration.pin, raPins: configuration.raPins, now: now)
            let recipient = try ca.encryptionRecipient()
            if let identity, recipient == identity.certificate {
                throw SCEPError.noEncryptionRecipient(pinned: !configuration.raPins.isEmpty)
            }
            let builder = RequestBuilder(recipient: recipient, issuer: ca.anchor, cipher: cipher, digest: digest, random: random)
            switch plan {
            case .enrollment(let subject, let key, let renewing):
                // The challenge goes with a first enrollment, and with a renewal too when one is
                // configured (micromdm asks for it).
                built = try builder.enrollment(subject: subject, extensions: configuration.extensions, key: key, challenge: challenge,
                                               renewing: renewing, supportsRenewal: supportsRenewal, now: now)
            case .poll(let record, let signer, let expectedPublicKey):
                built = try builder.poll(transactionID: record.transactionID, subject: record.subject, signer: signer,
                                         expectedPublicKey: expectedPublicKey, now: now)
            }
        } catch {
            throw AgentFailure(error)
        }
        if kind == .renew && !supportsRenewal { warn(.renewalAsPKCSReq) }
        outgoing = (built, plan.signerKey, ca)
        return built
    }

    /// What this transaction's request is, from this side's own state.
    // Indirect for the reason `EnrollmentResult` is: payloads of different sizes.
    private indirect enum Plan {
        case enrollment(subject: DistinguishedName, key: PrivateKey, renewing: Identity?)
        case poll(PendingRecord, signer: Identity, expectedPublicKey: [UInt8])

        /// The key the request is signed with: the reply is encrypted to it.
        var signerKey: PrivateKey {
            switch self {
            case .enrollment(_, let key, let renewing): renewing?.key ?? key
            case .poll(_, let signer, _): signer.key
            }
        }
    }

    private func plan() throws(AgentFailure) -> Plan {
        switch kind {
        case .enroll, .renew:
            guard let subject = configuration.subject ?? identity?.certificate.subject else {
                throw AgentFailure(.configuration, .noSubject)
            }
            var renewing: Identity? = nil
            if kind == .renew {
                guard let identity else { throw AgentFailure(.failed, .noIdentity(keystore: keystore.path)) }
                renewing = Identity(key: identity.key, certificate: identity.certificate)
            }
            return .enrollment(subject: subject, key: try transactionKey(), renewing: renewing)
        case .poll:
            guard let pending else { throw AgentFailure.outOfOrder(.noPendingTransaction) }
            var signerKey = pending.key
            if pending.record.signedByCurrent {
                guard let identity else { throw AgentFailure.outOfOrder(.renewalIdentityGone) }
                signerKey = identity.key
            }
            return .poll(pending.record, signer: Identity(key: signerKey, certificate: pending.record.signer),
                         expectedPublicKey: pending.key.publicKeyInfo)
        }
    }

    public func deliver(reply: [UInt8]) throws(AgentFailure) -> TransactionEnd {
        guard budget.replies > 0 else { throw AgentFailure.outOfOrder(.secondReply) }
        budget.replies -= 1
        guard let outgoing else { throw AgentFailure.outOfOrder(.replyWithoutRequest) }
        // Verified before any private key touches it: a reply nobody but the CA (or its RA)
        // could have signed, for the transaction and nonce this side chose.
        let certRep: CertRep
        do throws(SCEPError) {
            certRep = try CertRep(reply: reply, expectedTransactionID: outgoing.request.transactionID,
                                  senderNonce: outgoing.request.senderNonce, ca: outgoing.ca,
                                  authenticatedServer: configuration.authenticatedServer)
        } catch {
            throw AgentFailure(error)
        }
        for warning in certRep.warnings { warn(warning) }
        switch certRep.outcome {
        case .pending:
            try notePending(outgoing.request)
            return .pending
        case .failure(let info, let text):
            // A FAILURE does not say why, and servers that cannot issue to an EC key answer it too
            // (micromdm 2.1 answers badRequest): say what the operator can try.
            if let key, case .ec = key.type {
                logger.warn("hint", [("detail", "the refused request was for an \(key.type.name) key, and some servers issue "
                    + "only to RSA keys (micromdm 2.1 answers FAILURE badRequest): if the challenge is right, try --key-type rsa:2048")])
            }
            let refused = SCEPError.serverFailure(info, text: text)
            refusal = refused
            throw AgentFailure(refused)
        case .success(let envelope):
            let keys = EnvelopedData.Keys(key: outgoing.signerKey, certificate: outgoing.request.signer,
                                          password: challenge.map { LocalPassword($0) })
            let issued: (certificate: Certificate, chain: [Certificate], warnings: [ProtocolWarning])
            do throws(SCEPError) {
                let opened = try CertRep.open(envelope, with: keys)
                issued = try CertRep.issued(from: opened, expectedPublicKey: outgoing.request.expectedPublicKey, ca: outgoing.ca)
            } catch {
                throw AgentFailure(error)
            }
            for warning in issued.warnings { warn(warning) }
            try commit(certificate: issued.certificate, chain: issued.chain, anchor: outgoing.ca.anchor)
            return .issued
        }
    }

    /// Commits the certificate the verified reply issued for this transaction's key.
    private func commit(certificate: Certificate, chain: [Certificate], anchor: Certificate) throws(AgentFailure) {
        guard let key else { throw AgentFailure.outOfOrder(.noTransactionKey) }
        // The chain stored (and published) is the path validated here.
        let path: [Certificate]
        do throws(PathError) { path = try PathValidation.validate(certificate, anchor: anchor, intermediates: chain, now: nil) } catch {
            throw AgentFailure(.failed, .noPathToCA(error))
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
            ("key_storage", key.storage.name),
        ])
        let watch = Stopwatch()
        do {
            // The keystore checks the certificate against the key and its path to the anchor.
            committed = try keystore.commit(key: key, certificate: certificate, chain: Array(path.dropFirst()), anchor: anchor,
                                            metadata: metadata, now: committedAt)
        } catch {
            throw AgentFailure(.failed, .keystore(error))
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

    /// Keeps a transaction the server answered PENDING: every fact is this side's own (what it
    /// sent, when it first heard PENDING).
    private func notePending(_ request: OutgoingRequest) throws(AgentFailure) {
        guard let key else { throw AgentFailure.outOfOrder(.noTransactionKey) }
        if let pending, pending.record.transactionID == request.transactionID { return }
        let record = PendingRecord(transactionID: request.transactionID, messageType: request.messageType, subject: request.subject,
                                   signer: request.signer, signedByCurrent: kind == .renew, since: clock())
        do { try keystore.writePending(key: key, signer: record.signer, metadata: record.metadata) } catch {
            throw AgentFailure(.failed, .keystore(error))
        }
        pending = (record, key)
    }

    public func warn(_ warning: ProtocolWarning) { warn(text: "\(warning)") }

    /// A warning as the network process words it; each is logged once per run.
    public func warn(text: String) {
        let text = String(decoding: text.utf8.prefix(512), as: UTF8.self)
        guard !warned.contains(text) else { return }
        if warned.count < 32 { warned.append(text) }
        logger.warn("weak or fallback", [("detail", text)])
    }

    /// Forgets the pending transaction (refused, or polled past --poll-timeout).
    public func abandonPending() {
        pending = nil
        try? keystore.clearPending()
    }

    /// Random bytes from the key side's generator (the daemon's jitter).
    public func randomBytes(_ count: Int) throws(CryptoError) -> [UInt8] { try random.bytes(count) }
}

extension PendingRecord {
    /// The last moment worth polling, `timeout` after the first PENDING (saturating: a record
    /// from a damaged keystore cannot overflow it).
    public func deadline(timeout: Int64) -> Int64 {
        let (sum, overflow) = since.addingReportingOverflow(max(0, timeout))
        return overflow ? Int64.max : sum
    }

    /// The record as keystore metadata, and back.
    var metadata: IdentityMetadata {
        IdentityMetadata([
            ("transaction_id", transactionID), ("message_type", messageType.rawValue), ("subject", subject.rfc4514String),
            ("subject_der", Hex.encode(subject.derEncoded)), ("signed_by_current", signedByCurrent ? "yes" : "no"),
            ("since", "\(since)"),
        ])
    }

    /// Nil for a record that does not hold together: its time must be a plausible one (after
    /// 2020, before 2100), so nothing computed from it can overflow or trap.
    init?(metadata: IdentityMetadata, signer: Certificate) {
        guard let transaction = metadata["transaction_id"], !transaction.isEmpty, transaction.utf8.count <= 128,
              let type = metadata["message_type"].flatMap(MessageType.init(rawValue:)),
              let subjectDER = metadata["subject_der"].flatMap(Hex.decode),
              let subject = try? DistinguishedName(derEncoded: subjectDER),
              let since = metadata["since"].flatMap({ Numbers.parse($0.utf8, limit: 4_102_444_800) }),
              since >= 1_577_836_800 else { return nil }
        self.init(transactionID: transaction, messageType: type, subject: subject, signer: signer,
                  signedByCurrent: metadata["signed_by_current"] == "yes", since: Int64(since))
    }
}
