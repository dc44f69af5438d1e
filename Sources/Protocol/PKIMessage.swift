import ASN1
import CMS
import Crypto
import Encoding
import X509

/// A SCEP request (RFC 8894 section 3.2): the inner content enveloped to the CA/RA, then signed
/// with the requester's key, with the SCEP attributes signed alongside.
public struct PKIRequest {
    public let messageType: MessageType
    public let transactionID: String
    public let senderNonce: [UInt8]

    public init(messageType: MessageType, transactionID: String, senderNonce: [UInt8]) {
        self.messageType = messageType
        self.transactionID = transactionID
        self.senderNonce = senderNonce
    }

    /// A fresh transactionID: 16 random bytes as hex. Random rather than derived from the key, so
    /// a renewal that reuses the key still starts a new transaction (section 3.2.1.1).
    public static func newTransactionID(random: RandomGenerator) throws(CryptoError) -> String {
        Hex.encode(try random.bytes(16))
    }

    /// A fresh 16-byte senderNonce.
    public static func newNonce(random: RandomGenerator) throws(CryptoError) -> [UInt8] {
        try random.bytes(16)
    }

    /// The content enveloped to `recipient`: a CSR (secret, as it carries the challenge), an
    /// IssuerAndSubject or an IssuerAndSerialNumber.
    public static func seal(_ content: SecretBytes, to recipient: Certificate, cipher: ContentCipher,
                            random: RandomGenerator) throws(SCEPError) -> [UInt8] {
        do { return try EnvelopedData.build(content: content, to: .certificate(recipient), cipher: cipher, random: random) } catch {
            throw .request(error)
        }
    }

    /// The pkiMessage: `envelope` (from `seal`) signed with the SCEP attributes.
    public func sign(_ envelope: [UInt8], signer: CMSSigner, now: Int64) throws(SCEPError) -> [UInt8] {
        let attributes = [
            Attribute(OID.scepTransactionID) { $0.writePrintableString(transactionID) },
            Attribute(OID.scepMessageType) { $0.writePrintableString(messageType.rawValue) },
            Attribute(OID.scepSenderNonce) { $0.writeOctetString(senderNonce) },
            Attribute(OID.signingTime) { DERTime.write(now, into: &$0) },
        ]
        do { return try SignedData.build(content: envelope, signer: signer, attributes: attributes) } catch {
            throw .request(error)
        }
    }

    /// IssuerAndSubject ::= SEQUENCE { issuer Name, subject Name }: what CertPoll asks about.
    public static func issuerAndSubject(issuer: Certificate, subject: DistinguishedName) -> [UInt8] {
        DER.encode { writer in
            writer.writeSequence { writer in
                writer.writeEncoded(issuer.subjectDER)
                writer.write(subject)
            }
        }
    }
}

/// What the agent warns about in an exchange that still succeeds. Text is made where it is shown.
public enum ProtocolWarning: Equatable, Sendable, CustomStringConvertible {
    case weakReplyDigest(DigestAlgorithm)
    case weakReplyCipher(ContentCipher)
    case weakRequestCipher(ContentCipher)
    case weakKeyAgreementDigest(DigestAlgorithm)
    case renewalAsPKCSReq
    /// Over plain HTTP, a reply is signed by an end-entity certificate nothing marks as an RA.
    case unmarkedSigner(subject: String)

    public var description: String {
        switch self {
        case .weakReplyDigest(let digest): "the server signed its reply with \(digest.name)"
        case .weakReplyCipher(let cipher): "the server encrypted its reply with \(cipher.name)"
        case .weakRequestCipher(let cipher): "sending with \(cipher.name): the server offers nothing stronger"
        case .weakKeyAgreementDigest(let digest): "the server derived its reply's key with \(digest.name)"
        case .renewalAsPKCSReq: "the server lacks the Renewal capability: renewing with a PKCSReq signed by the current certificate"
        case .unmarkedSigner(let subject):
            "replies are signed by '\(subject)', an end-entity certificate not marked as an RA: over plain HTTP it cannot be told "
                + "from another device's certificate; set --ra-fingerprint or use https://"
        }
    }
}

/// A verified CertRep (RFC 8894 section 3.3).
public struct CertRep {
    public enum Outcome: Equatable {
        /// The issued certificates' envelope: opened by `CertRep.open`, read by `CertRep.issued`.
        case success(envelope: [UInt8])
        case pending
        case failure(FailInfo?, text: String?)
    }

    public let outcome: Outcome
    public let transactionID: String
    public let signer: Certificate
    /// Weak algorithms the server used, for the caller to warn about (micromdm signs with SHA-1).
    public let warnings: [ProtocolWarning]

    /// Parses a reply and checks everything a reply must satisfy before its content is looked at:
    /// the signature, the signer's path to the pinned CA and its right to sign, messageType,
    /// transactionID and recipientNonce. Any failure throws; nothing unverified is returned.
    ///
    /// PENDING and FAILURE replies may carry no content at all (section 3.3.2): their signature
    /// is then checked over empty content, and only SUCCESS must carry an envelope.
    public init(reply: [UInt8], expectedTransactionID: String, senderNonce: [UInt8], ca: CACertificates,
                authenticatedServer: Bool) throws(SCEPError) {
        let operation = SCEPOperation.pkiOperation(.certRep)
        let signed: SignedData
        do { signed = try SignedData(message: reply) } catch { throw SCEPError.from(error, operation) }
        guard signed.signers.count == 1, let signerInfo = signed.signers.first else {
            throw .rejected(operation, .signerCount(signed.signers.count))
        }
        let signerCertificate = try ca.replySigner(for: signerInfo, extra: signed.certificates, operation: operation)
        let attributes: [Attribute]
        do { attributes = try signed.verify(signer: signerCertificate, signerInfo: signerInfo) } catch {
            throw SCEPError.from(error, operation)
        }
        var warnings: [ProtocolWarning] = []
        if let digest = AlgorithmNames.digest(signerInfo.digestAlgorithm.algorithm), digest.isWeak {
            warnings.append(.weakReplyDigest(digest))
        }
        if !authenticatedServer && ca.isUnmarkedEndEntity(signerCertificate) {
            warnings.append(.unmarkedSigner(subject: signerCertificate.subject.rfc4514String))
        }

        guard let type = CertRep.printable(attributes.value(of: OID.scepMessageType)) else {
            throw .rejected(operation, .noMessageType)
        }
        guard type == MessageType.certRep.rawValue else { throw .rejected(operation, .wrongMessageType(type)) }
        guard let transaction = CertRep.printable(attributes.value(of: OID.scepTransactionID)),
              transaction == expectedTransactionID else { throw .rejected(operation, .transactionIDMismatch) }
        guard let nonce = CertRep.octets(attributes.value(of: OID.scepRecipientNonce)), nonce == senderNonce else {
            throw .rejected(operation, .recipientNonceMismatch)
        }
        guard let statusText = CertRep.printable(attributes.value(of: OID.scepPKIStatus)),
              let status = PKIStatus(rawValue: statusText) else {
            throw .rejected(operation, .noStatus)
        }

        switch status {
        case .success:
            guard let content = signed.content, !content.isEmpty else { throw .rejected(operation, .successWithoutContent) }
            outcome = .success(envelope: content)
        case .pending:
            outcome = .pending
        case .failure:
            let info = CertRep.printable(attributes.value(of: OID.scepFailInfo)).flatMap { FailInfo(rawValue: $0) }
            let text = CertRep.text(attributes.value(of: OID.scepFailInfoText))
            outcome = .failure(info, text: text)
        }
        transactionID = transaction
        signer = signerCertificate
        self.warnings = warnings
    }

    /// Opens a SUCCESS envelope with the key that signed the request (or the challenge password,
    /// for a server that answers an EC key that way).
    public static func open(_ envelope: [UInt8], with keys: EnvelopedData.Keys,
                            operation: SCEPOperation = .pkiOperation(.certRep)) throws(SCEPError) -> EnvelopedData.Opened {
        do { return try EnvelopedData.open(envelope, with: keys) } catch {
            if case .malformed = error { throw .malformed(operation, error) }
            throw .rejected(operation, .envelope(error))
        }
    }

    /// The issued certificate in an opened SUCCESS envelope: the one for `expectedPublicKey`, on
    /// a valid path to the pinned CA, with its chain.
    public static func issued(from opened: EnvelopedData.Opened, expectedPublicKey: [UInt8],
                              ca: CACertificates) throws(SCEPError) -> (certificate: Certificate, chain: [Certificate], warnings: [ProtocolWarning]) {
        let operation = SCEPOperation.pkiOperation(.certRep)
        var warnings: [ProtocolWarning] = []
        if opened.cipher.isWeak { warnings.append(.weakReplyCipher(opened.cipher)) }
        if let digest = opened.keyDerivationDigest, digest.isWeak { warnings.append(.weakKeyAgreementDigest(digest)) }
        let bag: SignedData
        do { bag = try SignedData(message: opened.content) } catch { throw SCEPError.from(error, operation) }
        guard !bag.certificates.isEmpty else { throw .rejected(operation, .noIssuedCertificate) }
        guard let issued = bag.certificates.first(where: { $0.publicKeyInfo == expectedPublicKey }) else {
            throw .rejected(operation, .issuedCertificateNotOurs)
        }
        let path: [Certificate]
        do {
            // The issued certificate's validity is the keystore's to judge, against the clock
            // at commit time; here only its path.
            path = try PathValidation.validate(issued, anchor: ca.anchor, intermediates: ca.all + bag.certificates, now: nil)
        } catch {
            throw .untrustedCertificate(error)
        }
        return (issued, Array(path.dropFirst()), warnings)
    }

    static func printable(_ value: [UInt8]?) -> String? {
        guard let value else { return nil }
        var reader = DERReader(value)
        guard let element = try? reader.read(), element.tag == DERTag.printableString else { return nil }
        return String(decoding: element.contents, as: UTF8.self)
    }

    static func octets(_ value: [UInt8]?) -> [UInt8]? {
        guard let value else { return nil }
        var reader = DERReader(value)
        guard let element = try? reader.read(), element.tag == DERTag.octetString else { return nil }
        return Array(element.contents)
    }

    /// failInfoText is a UTF8String; shown to people, so control characters are replaced and the
    /// length is bounded.
    static func text(_ value: [UInt8]?) -> String? {
        guard let value else { return nil }
        var reader = DERReader(value)
        guard let text = try? reader.readString() else { return nil }
        var cleaned = ""
        for scalar in text.unicodeScalars.prefix(256) {
            if scalar.value < 0x20 || scalar.value == 0x7f || (scalar.value >= 0x80 && scalar.value < 0xa0) {
                cleaned += "?"
            } else {
                cleaned.unicodeScalars.append(scalar)
            }
        }
        return cleaned
    }
}
