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
    /// The DER to envelope: a CSR, an IssuerAndSubject or an IssuerAndSerialNumber.
    public let content: [UInt8]

    public init(messageType: MessageType, transactionID: String, senderNonce: [UInt8], content: [UInt8]) {
        self.messageType = messageType
        self.transactionID = transactionID
        self.senderNonce = senderNonce
        self.content = content
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

    public func encode(recipient: Certificate, cipher: ContentCipher, signer: CMSSigner, now: Int64,
                       random: RandomGenerator) throws(SCEPError) -> [UInt8] {
        do throws(CMSError) {
            let envelope = try EnvelopedData.build(content: content, recipient: recipient, cipher: cipher, random: random)
            let attributes = [
                Attribute(OID.scepTransactionID, DER.printableString(transactionID)),
                Attribute(OID.scepMessageType, DER.printableString(messageType.rawValue)),
                Attribute(OID.scepSenderNonce, DER.octetString(senderNonce)),
                Attribute(OID.signingTime, DERTime.encode(now)),
            ]
            return try SignedData.build(content: envelope, signer: signer, attributes: attributes, random: random)
        } catch {
            throw .request("\(error)")
        }
    }

    /// IssuerAndSubject ::= SEQUENCE { issuer Name, subject Name }: what CertPoll asks about.
    public static func issuerAndSubject(issuer: Certificate, subject: DistinguishedName) -> [UInt8] {
        DER.sequence([issuer.subjectDER, subject.der])
    }
}

/// A verified CertRep (RFC 8894 section 3.3).
public struct CertRep {
    public enum Outcome: Equatable {
        /// The issued certificates' DER: the envelope is opened by `CertRep.openIssued`.
        case success(envelope: [UInt8])
        case pending
        case failure(FailInfo?, text: String?)
    }

    public let outcome: Outcome
    public let transactionID: String
    public let signer: Certificate
    /// Weak algorithms the server used, for the caller to warn about (micromdm signs with SHA-1).
    public let warnings: [String]

    /// Parses a reply and checks everything a reply must satisfy before its content is looked at:
    /// the signature, the signer's chain to the pinned CA, messageType, transactionID and
    /// recipientNonce. Any failure throws; nothing unverified is returned.
    public init(reply: [UInt8], expectedTransactionID: String, senderNonce: [UInt8], ca: CACertificates,
                now: Int64?) throws(SCEPError) {
        let signed: SignedData
        do { signed = try SignedData(der: reply, context: "CertRep") } catch { throw SCEPError.from(error, "CertRep") }
        guard signed.signers.count == 1, let signerInfo = signed.signers.first else {
            throw .replyNotVerified("CertRep has \(signed.signers.count) signers, expected 1")
        }
        let signerCertificate = try ca.replySigner(for: signerInfo, extra: signed.certificates, now: now)
        let attributes: [Attribute]
        do {
            attributes = try signed.verify(signer: signerCertificate, signerInfo: signerInfo)
        } catch {
            throw SCEPError.from(error, "CertRep")
        }
        var warnings: [String] = []
        if let digest = AlgorithmNames.digest(signerInfo.digestAlgorithm.algorithm), digest.isWeak {
            warnings.append("the server signed its reply with \(digest.name)")
        }

        guard let type = CertRep.printable(attributes.value(of: OID.scepMessageType)) else {
            throw .malformedReply("CertRep has no messageType")
        }
        guard type == MessageType.certRep.rawValue else { throw .wrongMessageType(type) }
        guard let transaction = CertRep.printable(attributes.value(of: OID.scepTransactionID)),
              transaction == expectedTransactionID else { throw .transactionIDMismatch }
        guard let nonce = CertRep.octets(attributes.value(of: OID.scepRecipientNonce)), nonce == senderNonce else {
            throw .recipientNonceMismatch
        }
        guard let statusText = CertRep.printable(attributes.value(of: OID.scepPKIStatus)),
              let status = PKIStatus(rawValue: statusText) else {
            throw .malformedReply("CertRep has no valid pkiStatus")
        }

        switch status {
        case .success:
            guard let content = signed.content, !content.isEmpty else { throw .noIssuedCertificate }
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

    /// Opens a SUCCESS envelope with the key that signed the request, and returns the issued
    /// certificate (the one for `expectedPublicKey`, checked to chain to the pinned CA) and the
    /// rest of what the server sent.
    public static func openIssued(_ envelope: [UInt8], key: RSAPrivateKey, signerCertificate: Certificate,
                                  expectedPublicKey: [UInt8], ca: CACertificates, now: Int64?,
                                  random: RandomGenerator) throws(SCEPError) -> (certificate: Certificate, chain: [Certificate], warnings: [String]) {
        let opened: EnvelopedData.Opened
        do {
            opened = try EnvelopedData.open(envelope, key: key, certificate: signerCertificate, random: random, context: "CertRep.envelope")
        } catch {
            throw SCEPError.from(error, "CertRep envelope")
        }
        var warnings: [String] = []
        if opened.cipher.isWeak { warnings.append("the server encrypted its reply with \(opened.cipher.name)") }
        let bag: SignedData
        do { bag = try SignedData(der: opened.content, context: "CertRep.certificates") } catch { throw SCEPError.from(error, "CertRep certificates") }
        guard !bag.certificates.isEmpty else { throw .noIssuedCertificate }
        guard let issued = bag.certificates.first(where: { $0.publicKeyInfo == expectedPublicKey }) else {
            throw .issuedCertificateNotOurs
        }
        let pool = ca.all + bag.certificates
        let path: [Certificate]
        do {
            path = try ChainVerification.verify(issued, anchor: ca.anchor, intermediates: pool, now: nil)
        } catch {
            throw .untrustedCertificate(error)
        }
        return (issued, Array(path.dropFirst()), warnings)
    }

    static func printable(_ value: [UInt8]?) -> String? {
        guard let value, var reader = try? DERReader(value, context: "attribute"),
              let element = try? reader.read(), element.tag == DERTag.printableString else { return nil }
        return String(decoding: element.contents, as: UTF8.self)
    }

    static func octets(_ value: [UInt8]?) -> [UInt8]? {
        guard let value, var reader = try? DERReader(value, context: "attribute"),
              let element = try? reader.read(), element.tag == DERTag.octetString else { return nil }
        return Array(element.contents)
    }

    /// failInfoText is a UTF8String; shown to people, so control characters are replaced and the
    /// length is bounded.
    static func text(_ value: [UInt8]?) -> String? {
        guard let value, var reader = try? DERReader(value, context: "failInfoText"),
              let text = try? reader.readString() else { return nil }
        var cleaned = ""
        for scalar in text.unicodeScalars.prefix(256) {
            if scalar.value < 0x20 || scalar.value == 0x7f { cleaned += "?" } else { cleaned.unicodeScalars.append(scalar) }
        }
        return cleaned
    }
}
