import ASN1
import CMS
import Crypto
import X509

/// An identity the agent already holds: the key and the certificate that names it.
public struct Identity {
    public let key: RSAPrivateKey
    public let certificate: Certificate

    public init(key: RSAPrivateKey, certificate: Certificate) {
        self.key = key
        self.certificate = certificate
    }
}

/// What to ask for.
public struct EnrollmentRequest {
    public let subject: DistinguishedName
    /// The key the new certificate will certify.
    public let key: RSAPrivateKey
    public let challenge: SecretBytes?
    public let extensions: [CertificateExtension]
    /// For renewal: the identity that signs the request (section 2.5). Nil for first enrollment.
    public let renewing: Identity?

    public init(subject: DistinguishedName, key: RSAPrivateKey, challenge: SecretBytes?,
                extensions: [CertificateExtension] = [], renewing: Identity? = nil) {
        self.subject = subject
        self.key = key
        self.challenge = challenge
        self.extensions = extensions
        self.renewing = renewing
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
}

/// An issued certificate, verified: it certifies our key and chains to the pinned CA.
public struct IssuedCertificate {
    public let certificate: Certificate
    /// Intermediates up to and including the pinned CA.
    public let chain: [Certificate]
}

public enum EnrollmentResult {
    case issued(IssuedCertificate)
    case pending(PendingTransaction)
}

/// PKCSReq, RenewalReq and CertPoll: the transactions that end in a certificate.
public struct Enrollment {
    public let capabilities: Capabilities
    public let ca: CACertificates
    public let cipher: ContentCipher
    public let digest: DigestAlgorithm
    /// Warnings for the caller to log: weak algorithms in replies, fallbacks taken.
    public private(set) var warnings: [String] = []

    /// Chooses algorithms from the capabilities. No acceptable cipher is an error before anything
    /// is sent.
    public init(capabilities: Capabilities, ca: CACertificates, allowWeakCrypto: Bool) throws(SCEPError) {
        guard let cipher = capabilities.requestCipher(allowWeak: allowWeakCrypto) else {
            throw .noUsableCipher(offered: capabilities.keywords.joined(separator: ","))
        }
        self.capabilities = capabilities
        self.ca = ca
        self.cipher = cipher
        self.digest = capabilities.requestDigest
        if cipher.isWeak { warnings.append("sending with \(cipher.name): the server offers nothing stronger") }
    }

    /// Sends PKCSReq (first enrollment) or RenewalReq (when renewing and the server supports it;
    /// otherwise a PKCSReq signed with the existing certificate, section 2.5).
    public mutating func start<Transport: SCEPTransport>(_ request: EnrollmentRequest, client: inout SCEPClient<Transport>,
                                                         now: Int64, random: RandomGenerator) throws(SCEPError) -> EnrollmentResult {
        let csr: [UInt8]
        let signer: Identity
        do throws(CryptoError) {
            var builder = CertificationRequestBuilder(subject: request.subject)
            builder.extensions = request.extensions
            csr = try builder.build(key: request.key, challenge: request.challenge, digest: digest, random: random)
            if let existing = request.renewing {
                signer = existing
            } else {
                let selfSigned = try SelfSignedCertificate.make(subject: request.subject, key: request.key, now: now, random: random)
                do { signer = Identity(key: request.key, certificate: try Certificate(der: selfSigned)) } catch {
                    throw CryptoError("parsing our own signer certificate")
                }
            }
        } catch {
            throw .request("\(error)")
        }
        var type = MessageType.pkcsReq
        if request.renewing != nil {
            if capabilities.supportsRenewal {
                type = .renewalReq
            } else {
                warnings.append("the server lacks the Renewal capability: renewing with a PKCSReq signed by the current certificate")
            }
        }
        let publicKey: [UInt8]
        do { publicKey = try request.key.publicKeyInfoDER() } catch { throw .request("\(error)") }
        let transaction: String
        do { transaction = try PKIRequest.newTransactionID(random: random) } catch { throw .request("\(error)") }
        let pending = PendingTransaction(transactionID: transaction, messageType: type, subject: request.subject,
                                         signer: signer, expectedPublicKey: publicKey)
        return try exchange(type, content: csr, for: pending, client: &client, now: now, random: random)
    }

    /// CertPoll for a PENDING transaction (section 3.3.3): same transactionID, fresh nonce.
    public mutating func poll<Transport: SCEPTransport>(_ pending: PendingTransaction, client: inout SCEPClient<Transport>,
                                                        now: Int64, random: RandomGenerator) throws(SCEPError) -> EnrollmentResult {
        let content = PKIRequest.issuerAndSubject(issuer: ca.anchor, subject: pending.subject)
        return try exchange(.certPoll, content: content, for: pending, client: &client, now: now, random: random)
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
        guard !bag.crls.isEmpty else { throw .malformedReply("GetCRL reply carries no CRL") }
        return bag.crls
    }

    private mutating func query<Transport: SCEPTransport>(_ type: MessageType, _ target: IssuerAndSerialNumber, signer: Identity,
                                                          client: inout SCEPClient<Transport>, now: Int64,
                                                          random: RandomGenerator) throws(SCEPError) -> SignedData {
        let transaction: String
        do { transaction = try PKIRequest.newTransactionID(random: random) } catch { throw .request("\(error)") }
        let certRep = try send(type, content: target.der, transactionID: transaction, signer: signer, client: &client,
                                    now: now, random: random)
        switch certRep.outcome {
        case .pending: throw .malformedReply("\(type.name) answered PENDING")
        case .failure(let info, let text): throw .serverFailure(info, text: text)
        case .success(let envelope):
            let opened: EnvelopedData.Opened
            do { opened = try EnvelopedData.open(envelope, key: signer.key, certificate: signer.certificate, random: random, context: "CertRep.envelope") } catch {
                throw SCEPError.from(error, "\(type.name) envelope")
            }
            if opened.cipher.isWeak { warnings.append("the server encrypted its reply with \(opened.cipher.name)") }
            do { return try SignedData(der: opened.content, context: "\(type.name) reply") } catch { throw SCEPError.from(error, type.name) }
        }
    }

    /// Signs, envelopes and sends one request, and returns the verified CertRep.
    private mutating func send<Transport: SCEPTransport>(_ type: MessageType, content: [UInt8], transactionID: String, signer: Identity,
                                                         client: inout SCEPClient<Transport>, now: Int64,
                                                         random: RandomGenerator) throws(SCEPError) -> CertRep {
        let nonce: [UInt8]
        do { nonce = try PKIRequest.newNonce(random: random) } catch { throw .request("\(error)") }
        let request = PKIRequest(messageType: type, transactionID: transactionID, senderNonce: nonce, content: content)
        let message = try request.encode(recipient: ca.encryptionRecipient, cipher: cipher,
                                         signer: CMSSigner(key: signer.key, certificate: signer.certificate, digest: digest),
                                         now: now, random: random)
        let reply = try client.pkiOperation(message, capabilities: capabilities)
        let certRep = try CertRep(reply: reply, expectedTransactionID: transactionID, senderNonce: nonce, ca: ca, now: now)
        warnings += certRep.warnings
        return certRep
    }

    private mutating func exchange<Transport: SCEPTransport>(_ type: MessageType, content: [UInt8], for pending: PendingTransaction,
                                                             client: inout SCEPClient<Transport>, now: Int64,
                                                             random: RandomGenerator) throws(SCEPError) -> EnrollmentResult {
        let certRep = try send(type, content: content, transactionID: pending.transactionID, signer: pending.signer,
                                    client: &client, now: now, random: random)
        switch certRep.outcome {
        case .pending:
            return .pending(pending)
        case .failure(let info, let text):
            throw .serverFailure(info, text: text)
        case .success(let envelope):
            let opened = try CertRep.openIssued(envelope, key: pending.signer.key, signerCertificate: pending.signer.certificate,
                                                expectedPublicKey: pending.expectedPublicKey, ca: ca, now: now, random: random)
            warnings += opened.warnings
            return .issued(IssuedCertificate(certificate: opened.certificate, chain: opened.chain))
        }
    }
}
