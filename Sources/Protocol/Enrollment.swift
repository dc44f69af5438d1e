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

/// A pkiMessage ready to send, built and signed by whoever holds the keys and the challenge
/// (`RequestBuilder`), with what the reply is checked against.
public struct OutgoingRequest {
    public let message: [UInt8]
    public let messageType: MessageType
    public let transactionID: String
    public let senderNonce: [UInt8]
    public let subject: DistinguishedName
    /// The certificate that signed the request: the reply is encrypted to its key.
    public let signer: Certificate
    /// The public key (SubjectPublicKeyInfo DER) the issued certificate must certify.
    public let expectedPublicKey: [UInt8]

    public init(message: [UInt8], messageType: MessageType, transactionID: String, senderNonce: [UInt8],
                subject: DistinguishedName, signer: Certificate, expectedPublicKey: [UInt8]) {
        self.message = message
        self.messageType = messageType
        self.transactionID = transactionID
        self.senderNonce = senderNonce
        self.subject = subject
        self.signer = signer
        self.expectedPublicKey = expectedPublicKey
    }
}

/// Builds and signs requests. Pure: bytes out, no network. The key side of the agent uses it, so
/// that every signature the device's keys make is over a message this code assembled, never
/// over a digest someone else chose.
public struct RequestBuilder {
    /// Where requests are encrypted to (section 3.1), checked against the pin by the caller.
    public let recipient: Certificate
    /// The pinned CA: CertPoll names it as the issuer.
    public let issuer: Certificate
    public let cipher: ContentCipher
    public let digest: DigestAlgorithm
    public let random: RandomGenerator

    public init(recipient: Certificate, issuer: Certificate, cipher: ContentCipher, digest: DigestAlgorithm, random: RandomGenerator) {
        self.recipient = recipient
        self.issuer = issuer
        self.cipher = cipher
        self.digest = digest
        self.random = random
    }

    /// PKCSReq for a first enrollment (signed by a self-signed certificate for `key`), or for a
    /// renewal RenewalReq signed by the identity in service; a server without the Renewal
    /// capability gets a PKCSReq signed by the identity in service (section 2.5).
    public func enrollment(subject: DistinguishedName, extensions: [CertificateExtension], key: PrivateKey,
                           challenge: SecretBytes?, renewing: Identity?, supportsRenewal: Bool,
                           now: Int64) throws(SCEPError) -> OutgoingRequest {
        let signer: Identity
        if let renewing {
            signer = renewing
        } else {
            let selfSigned: [UInt8]
            do { selfSigned = try SelfSignedCertificate.make(subject: subject, key: key, now: now, random: random) } catch {
                throw .request(.crypto(error))
            }
            do { signer = Identity(key: key, certificate: try Certificate(der: selfSigned)) } catch {
                throw .request(.malformed(error))
            }
        }
        var builder = CertificationRequestBuilder(subject: subject)
        builder.extensions = extensions
        let csr: SecretBytes
        do { csr = try builder.build(key: key, challenge: challenge, digest: digest) } catch { throw .request(.crypto(error)) }
        defer { csr.wipe() }
        let envelope = try PKIRequest.seal(csr, to: recipient, cipher: cipher, random: random)
        let type: MessageType = renewing != nil && supportsRenewal ? .renewalReq : .pkcsReq
        let transaction: String
        do { transaction = try PKIRequest.newTransactionID(random: random) } catch { throw .request(.crypto(error)) }
        return try sign(envelope, type: type, transactionID: transaction, subject: subject, signer: signer,
                        expectedPublicKey: key.publicKeyInfo, now: now)
    }

    /// CertPoll for a transaction the server answered PENDING (section 3.3.3): the same
    /// transactionID and signer, a fresh nonce.
    public func poll(transactionID: String, subject: DistinguishedName, signer: Identity, expectedPublicKey: [UInt8],
                     now: Int64) throws(SCEPError) -> OutgoingRequest {
        let content = PKIRequest.issuerAndSubject(issuer: issuer, subject: subject)
        let envelope = try PKIRequest.seal(SecretBytes(content), to: recipient, cipher: cipher, random: random)
        return try sign(envelope, type: .certPoll, transactionID: transactionID, subject: subject, signer: signer,
                        expectedPublicKey: expectedPublicKey, now: now)
    }

    func sign(_ envelope: [UInt8], type: MessageType, transactionID: String, subject: DistinguishedName, signer: Identity,
              expectedPublicKey: [UInt8], now: Int64) throws(SCEPError) -> OutgoingRequest {
        let nonce: [UInt8]
        do { nonce = try PKIRequest.newNonce(random: random) } catch { throw .request(.crypto(error)) }
        let request = PKIRequest(messageType: type, transactionID: transactionID, senderNonce: nonce)
        let message = try request.sign(envelope, signer: CMSSigner(key: signer.key, certificate: signer.certificate, digest: digest),
                                       now: now)
        return OutgoingRequest(message: message, messageType: type, transactionID: transactionID, senderNonce: nonce,
                               subject: subject, signer: signer.certificate, expectedPublicKey: expectedPublicKey)
    }
}

/// What to ask for, for a process that holds the key and the challenge itself (tests, and tools
/// built on this layer): see `Enrollment.start`.
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

/// A request the server answered PENDING, with its keys: everything needed to poll for it in
/// process (section 5.2).
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

/// PKCSReq, RenewalReq and CertPoll as the network side runs them: the algorithms and the
/// recipient chosen from what the server offers, a built request sent, and the reply verified.
public struct Enrollment {
    public let capabilities: Capabilities
    public let ca: CACertificates
    public let cipher: ContentCipher
    public let digest: DigestAlgorithm
    /// Where requests are encrypted to (section 3.1).
    public let recipient: Certificate
    /// Whether the transport authenticated the server (https): then the CA's answer is the
    /// server's own, and an unmarked RA signer is not a warning.
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
    }

    public var supportsRenewal: Bool { capabilities.supportsRenewal }

    /// A builder for this server's choices, with keys held in this process.
    public func builder(random: RandomGenerator) -> RequestBuilder {
        RequestBuilder(recipient: recipient, issuer: ca.anchor, cipher: cipher, digest: digest, random: random)
    }

    /// Sends a built request and returns the reply, verified: signed by the CA (or an RA under
    /// it), for this transaction and nonce. (Whoever built the request knows whether it is a
    /// renewal sent as PKCSReq, and warns of it: `start`, and the key side's `KeyAuthority`.)
    public mutating func send<Transport: SCEPTransport>(_ request: OutgoingRequest,
                                                        client: inout SCEPClient<Transport>) throws(SCEPError) -> CertRep {
        let reply = try client.pkiOperation(request.message, capabilities: capabilities)
        let certRep = try CertRep(reply: reply, expectedTransactionID: request.transactionID, senderNonce: request.senderNonce,
                                  ca: ca, authenticatedServer: authenticatedServer)
        for warning in certRep.warnings where !warnings.contains(warning) { warnings.append(warning) }
        return certRep
    }

    /// The issued certificate from an opened SUCCESS envelope: the one for `expectedPublicKey`,
    /// on a valid path to the pinned CA.
    public mutating func issued(from opened: EnvelopedData.Opened, expectedPublicKey: [UInt8]) throws(SCEPError) -> IssuedCertificate {
        let result = try CertRep.issued(from: opened, expectedPublicKey: expectedPublicKey, ca: ca)
        for warning in result.warnings where !warnings.contains(warning) { warnings.append(warning) }
        return IssuedCertificate(certificate: result.certificate, chain: result.chain)
    }

    // MARK: In process: the key, the challenge and the network in one place

    /// PKCSReq or RenewalReq for `request`, with `challenge` sealed in the CSR.
    public mutating func start<Transport: SCEPTransport>(_ request: EnrollmentRequest, challenge: SecretBytes?,
                                                         extensions: [CertificateExtension] = [],
                                                         client: inout SCEPClient<Transport>, now: Int64,
                                                         random: RandomGenerator) throws(SCEPError) -> EnrollmentResult {
        if request.renewing != nil && !supportsRenewal && !warnings.contains(.renewalAsPKCSReq) { warnings.append(.renewalAsPKCSReq) }
        let outgoing = try builder(random: random).enrollment(subject: request.subject, extensions: extensions, key: request.key,
                                                              challenge: challenge, renewing: request.renewing,
                                                              supportsRenewal: supportsRenewal, now: now)
        let signer = request.renewing ?? Identity(key: request.key, certificate: outgoing.signer)
        let pending = PendingTransaction(transactionID: outgoing.transactionID, messageType: outgoing.messageType,
                                         subject: request.subject, signer: signer, expectedPublicKey: request.key.publicKeyInfo,
                                         password: request.password)
        return try complete(outgoing, pending: pending, client: &client)
    }

    /// CertPoll for a PENDING transaction (section 3.3.3): same transactionID, fresh nonce.
    public mutating func poll<Transport: SCEPTransport>(_ pending: PendingTransaction, client: inout SCEPClient<Transport>,
                                                        now: Int64, random: RandomGenerator) throws(SCEPError) -> EnrollmentResult {
        let outgoing = try builder(random: random).poll(transactionID: pending.transactionID, subject: pending.subject,
                                                        signer: pending.signer, expectedPublicKey: pending.expectedPublicKey, now: now)
        return try complete(outgoing, pending: pending, client: &client)
    }

    private mutating func complete<Transport: SCEPTransport>(_ outgoing: OutgoingRequest, pending: PendingTransaction,
                                                             client: inout SCEPClient<Transport>) throws(SCEPError) -> EnrollmentResult {
        let certRep = try send(outgoing, client: &client)
        switch certRep.outcome {
        case .pending:
            return .pending(pending)
        case .failure(let info, let text):
            throw .serverFailure(info, text: text)
        case .success(let envelope):
            let keys = EnvelopedData.Keys(key: pending.signer.key, certificate: pending.signer.certificate, password: pending.password)
            let opened = try CertRep.open(envelope, with: keys)
            return .issued(try issued(from: opened, expectedPublicKey: pending.expectedPublicKey))
        }
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
        let outgoing = try builder(random: random).sign(envelope, type: type, transactionID: transaction, subject: signer.certificate.subject,
                                                         signer: signer, expectedPublicKey: signer.certificate.publicKeyInfo, now: now)
        let certRep = try send(outgoing, client: &client)
        let operation = SCEPOperation.pkiOperation(type)
        switch certRep.outcome {
        case .pending: throw .rejected(operation, .pendingToQuery)
        case .failure(let info, let text): throw .serverFailure(info, text: text)
        case .success(let envelope):
            let opened = try CertRep.open(envelope, with: EnvelopedData.Keys(key: signer.key, certificate: signer.certificate),
                                          operation: operation)
            if opened.cipher.isWeak { warnings.append(.weakReplyCipher(opened.cipher)) }
            do { return try SignedData(message: opened.content) } catch { throw SCEPError.from(error, operation) }
        }
    }
}
