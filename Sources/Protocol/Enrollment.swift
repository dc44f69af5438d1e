import ASN1
import CMS
import Crypto
import X509

/// An identity the agent already holds: the key and the certificate that names it.
public struct Identity {
    public let key: PrivateKey
    public let certificate: Certificate

    public init(key: PrivateKey, certificate: Certificate) {
        self.key = key
        self.certificate = certificate
    }
}

/// What to ask for. The request itself (the PKCS#10 with the challenge) comes sealed, from
/// whoever holds the challenge: see `CertificationRequestSeal`.
public struct EnrollmentRequest {
    public let subject: DistinguishedName
    /// The key the new certificate will certify.
    public let key: PrivateKey
    /// For renewal: the identity that signs the request (section 2.5). Nil for first enrollment.
    public let renewing: Identity?
    /// The challenge, for a server that encrypts its reply to it (a password recipient).
    public let password: PasswordSecret?

    public init(subject: DistinguishedName, key: PrivateKey, renewing: Identity? = nil, password: PasswordSecret? = nil) {
        self.subject = subject
        self.key = key
        self.renewing = renewing
        self.password = password
    }
}

/// The PKCS#10 request (RFC 2986), with the challenge, enveloped to the CA or RA: built by
/// whoever holds the challenge, so that the challenge leaves it only encrypted to a certificate
/// it checked itself.
public enum CertificationRequestSeal {
    public static func seal(subject: DistinguishedName, extensions: [CertificateExtension], key: PrivateKey, challenge: SecretBytes?,
                            recipient: Certificate, cipher: ContentCipher, digest: DigestAlgorithm,
                            random: RandomGenerator) throws(SCEPError) -> [UInt8] {
        var builder = CertificationRequestBuilder(subject: subject)
        builder.extensions = extensions
        let csr: SecretBytes
        do { csr = try builder.build(key: key, challenge: challenge, digest: digest) } catch { throw .request(.crypto(error)) }
        defer { csr.wipe() }
        return try PKIRequest.seal(csr, to: recipient, cipher: cipher, random: random)
    }
}

/// A request the server answered PENDING: everything needed to poll for it (section 5.2).
public struct PendingTransaction {
    public let transactionID: String
    public let messageType: MessageType
    public let subject: DistinguishedName
    /// The identity that signed the request; the reply will be encrypted to it.
    public let signer: Identity
    public let expectedPublicKey: [UInt8]
    /// The challenge, for a server that encrypts its reply to it (a password recipient).
    public let password: PasswordSecret?

    public init(transactionID: String, messageType: MessageType, subject: DistinguishedName, signer: Identity,
                expectedPublicKey: [UInt8], password: PasswordSecret?) {
        self.transactionID = transactionID
        self.messageType = messageType
        self.subject = subject
        self.signer = signer
        self.expectedPublicKey = expectedPublicKey
        self.password = password
    }
}

/// An issued certificate, verified: it certifies our key and has a valid path to the pinned CA.
public struct IssuedCertificate {
    public let certificate: Certificate
    /// Intermediates up to and including the pinned CA.
    public let chain: [Certificate]
}

// Indirect: the two payloads differ much in size, and valgrind saw the unboxed enum's outlined
// destroy branch on the unwritten bytes of the smaller one. Boxed, both cases are one pointer.
public indirect enum EnrollmentResult {
    case issued(IssuedCertificate)
    case pending(PendingTransaction)
}

/// PKCSReq, RenewalReq and CertPoll: the transactions that end in a certificate.
public struct Enrollment {
    public let capabilities: Capabilities
    public let ca: CACertificates
    public let cipher: ContentCipher
    public let digest: DigestAlgorithm
    /// Where requests are encrypted to (section 3.1).
    public let recipient: Certificate
    /// Whether the transport authenticated the server (https): then the CA's answer is the
    /// server's own, and an unmarked RA certificate is not a warning.
    public let authenticatedServer: Bool
    /// Warnings for the caller to log: weak algorithms in replies, fallbacks taken.
    public private(set) var warnings: [ProtocolWarning] = []

    /// Chooses algorithms and the recipient. No acceptable cipher or recipient is an error before
    /// anything is sent.
    public init(capabilities: Capabilities, ca: CACertificates, allowWeakCrypto: Bool, authenticatedServer: Bool = false) throws(SCEPError) {
        guard let cipher = capabilities.requestCipher(allowWeak: allowWeakCrypto) else {
            throw .noUsableCipher(offered: capabilities.keywords)
        }
        self.capabilities = capabilities
        self.ca = ca
        self.cipher = cipher
        self.digest = capabilities.requestDigest
        self.recipient = try ca.encryptionRecipient()
        self.authenticatedServer = authenticatedServer
        if cipher.isWeak { warnings.append(.weakRequestCipher(cipher)) }
        if !authenticatedServer && ca.isUnmarkedEndEntity(recipient) {
            warnings.append(.unmarkedRecipient(subject: recipient.subject.rfc4514String))
        }
    }

    /// Sends PKCSReq (first enrollment) or RenewalReq (when renewing and the server supports it;
    /// otherwise a PKCSReq signed with the existing certificate, section 2.5). `envelope` is the
    /// sealed certification request for `recipient`.
    public mutating func start<Transport: SCEPTransport>(_ request: EnrollmentRequest, envelope: [UInt8],
                                                         client: inout SCEPClient<Transport>, now: Int64,
                                                         random: RandomGenerator) throws(SCEPError) -> EnrollmentResult {
        let signer: Identity
        if let existing = request.renewing {
            signer = existing
        } else {
            let selfSigned: [UInt8]
            do { selfSigned = try SelfSignedCertificate.make(subject: request.subject, key: request.key, now: now, random: random) } catch {
                throw .request(.crypto(error))
            }
            do { signer = Identity(key: request.key, certificate: try Certificate(der: selfSigned)) } catch {
                throw .request(.malformed(error))
            }
        }
        var type = MessageType.pkcsReq
        if request.renewing != nil {
            if capabilities.supportsRenewal {
                type = .renewalReq
            } else {
                warnings.append(.renewalAsPKCSReq)
            }
        }
        let transaction: String
        do { transaction = try PKIRequest.newTransactionID(random: random) } catch { throw .request(.crypto(error)) }
        let pending = PendingTransaction(transactionID: transaction, messageType: type, subject: request.subject,
                                         signer: signer, expectedPublicKey: request.key.publicKeyInfo, password: request.password)
        return try exchange(type, envelope: envelope, for: pending, client: &client, now: now, random: random)
    }

    /// The request for `request` sealed here, with `challenge`: for a process that holds both the
    /// key and the challenge (tests, and tools built on this layer).
    public mutating func start<Transport: SCEPTransport>(_ request: EnrollmentRequest, challenge: SecretBytes?,
                                                         extensions: [CertificateExtension] = [],
                                                         client: inout SCEPClient<Transport>, now: Int64,
                                                         random: RandomGenerator) throws(SCEPError) -> EnrollmentResult {
        let envelope = try CertificationRequestSeal.seal(subject: request.subject, extensions: extensions, key: request.key,
                                                         challenge: challenge, recipient: recipient, cipher: cipher, digest: digest,
                                                         random: random)
        return try start(request, envelope: envelope, client: &client, now: now, random: random)
    }

    /// CertPoll for a PENDING transaction (section 3.3.3): same transactionID, fresh nonce.
    public mutating func poll<Transport: SCEPTransport>(_ pending: PendingTransaction, client: inout SCEPClient<Transport>,
                                                        now: Int64, random: RandomGenerator) throws(SCEPError) -> EnrollmentResult {
        let content = PKIRequest.issuerAndSubject(issuer: ca.anchor, subject: pending.subject)
        let envelope = try PKIRequest.seal(SecretBytes(content), to: recipient, cipher: cipher, random: random)
        return try exchange(.certPoll, envelope: envelope, for: pending, client: &client, now: now, random: random)
    }

    /// GetCert (section 3.3.4): a certificate by issuer and serial number, signed with `signer`.
    public mutating func getCertificate<Transport: SCEPTransport>(_ target: IssuerAndSerialNumber, signer: Identity,
                                                                  client: inout SCEPClient<Transport>, now: Int64,
                                                                  random: RandomGenerator) throws(SCEPError) -> [Certificate] {
        try query(.getCert, target, signer: signer, client: &client, now: now, random: random).certificates
    }

    /// GetCRL (section 3.3.5): the CRL covering the certificate named by issuer and serial number,
    /// as CertificateList DER, signed with `signer`.
    public mutating func getCRL<Transport: SCEPTransport>(_ target: IssuerAndSerialNumber, signer: Identity,
                                                          client: inout SCEPClient<Transport>, now: Int64,
                                                          random: RandomGenerator) throws(SCEPError) -> [[UInt8]] {
        let bag = try query(.getCRL, target, signer: signer, client: &client, now: now, random: random)
        guard !bag.crls.isEmpty else { throw .rejected(.pkiOperation(.getCRL), .noIssuedCertificate) }
        return bag.crls
    }

    private mutating func query<Transport: SCEPTransport>(_ type: MessageType, _ target: IssuerAndSerialNumber, signer: Identity,
                                                          client: inout SCEPClient<Transport>, now: Int64,
                                                          random: RandomGenerator) throws(SCEPError) -> SignedData {
        let transaction: String
        do { transaction = try PKIRequest.newTransactionID(random: random) } catch { throw .request(.crypto(error)) }
        let envelope = try PKIRequest.seal(SecretBytes(target.derEncoded), to: recipient, cipher: cipher, random: random)
        let certRep = try send(type, envelope: envelope, transactionID: transaction, signer: signer, client: &client,
                               now: now, random: random)
        let operation = SCEPOperation.pkiOperation(type)
        switch certRep.outcome {
        case .pending: throw .rejected(operation, .pendingToQuery)
        case .failure(let info, let text): throw .serverFailure(info, text: text)
        case .success(let envelope):
            let opened: EnvelopedData.Opened
            do { opened = try EnvelopedData.open(envelope, with: EnvelopedData.Keys(key: signer.key, certificate: signer.certificate)) } catch {
                if case .malformed = error { throw .malformed(operation, error) }
                throw .rejected(operation, .envelope(error))
            }
            if opened.cipher.isWeak { warnings.append(.weakReplyCipher(opened.cipher)) }
            do { return try SignedData(message: opened.content) } catch { throw SCEPError.from(error, operation) }
        }
    }

    /// Signs and sends one request around `envelope`, and returns the verified CertRep.
    private mutating func send<Transport: SCEPTransport>(_ type: MessageType, envelope: [UInt8], transactionID: String, signer: Identity,
                                                         client: inout SCEPClient<Transport>, now: Int64,
                                                         random: RandomGenerator) throws(SCEPError) -> CertRep {
        let nonce: [UInt8]
        do { nonce = try PKIRequest.newNonce(random: random) } catch { throw .request(.crypto(error)) }
        let request = PKIRequest(messageType: type, transactionID: transactionID, senderNonce: nonce)
        let message = try request.sign(envelope, signer: CMSSigner(key: signer.key, certificate: signer.certificate, digest: digest),
                                       now: now)
        let reply = try client.pkiOperation(message, capabilities: capabilities)
        let certRep = try CertRep(reply: reply, expectedTransactionID: transactionID, senderNonce: nonce, ca: ca,
                                  authenticatedServer: authenticatedServer)
        for warning in certRep.warnings where !warnings.contains(warning) { warnings.append(warning) }
        return certRep
    }

    private mutating func exchange<Transport: SCEPTransport>(_ type: MessageType, envelope: [UInt8], for pending: PendingTransaction,
                                                             client: inout SCEPClient<Transport>, now: Int64,
                                                             random: RandomGenerator) throws(SCEPError) -> EnrollmentResult {
        let certRep = try send(type, envelope: envelope, transactionID: pending.transactionID, signer: pending.signer,
                               client: &client, now: now, random: random)
        switch certRep.outcome {
        case .pending:
            return .pending(pending)
        case .failure(let info, let text):
            throw .serverFailure(info, text: text)
        case .success(let envelope):
            let keys = EnvelopedData.Keys(key: pending.signer.key, certificate: pending.signer.certificate, password: pending.password)
            let opened = try CertRep.openIssued(envelope, keys: keys, expectedPublicKey: pending.expectedPublicKey, ca: ca)
            for warning in opened.warnings where !warnings.contains(warning) { warnings.append(warning) }
            return .issued(IssuedCertificate(certificate: opened.certificate, chain: opened.chain))
        }
    }
}
