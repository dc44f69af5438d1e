import ASN1
import Crypto
import X509

/// Who signs a SignedData: a key, the certificate that names it, and the digest to use.
public struct CMSSigner {
    public let key: RSAPrivateKey
    public let certificate: Certificate
    public let digest: DigestAlgorithm

    public init(key: RSAPrivateKey, certificate: Certificate, digest: DigestAlgorithm) {
        self.key = key
        self.certificate = certificate
        self.digest = digest
    }
}

/// CMS SignedData (RFC 5652 section 5), as SCEP uses it: one signer with signed attributes over
/// `data` content, or no signer at all for the certs-only form that carries certificates.
public struct SignedData {
    public let contentType: ObjectIdentifier
    /// The encapsulated content (eContent), or nil when detached or certs-only.
    public let content: [UInt8]?
    public let certificates: [Certificate]
    /// CertificateList encodings from the crls field (GetCRL replies).
    public let crls: [[UInt8]]
    public let signers: [SignerInfo]

    // MARK: Building

    /// The whole ContentInfo for a signed message. `attributes` are added to contentType and
    /// messageDigest, which are computed here.
    public static func build(content: [UInt8], signer: CMSSigner, attributes: [Attribute],
                             random: RandomGenerator) throws(CMSError) -> [UInt8] {
        let digestAlgorithm = AlgorithmIdentifier.withNull(AlgorithmNames.identifier(of: signer.digest))
        let signed = [
            Attribute(OID.contentType, DER.objectIdentifier(OID.data)),
            Attribute(OID.messageDigest, DER.octetString(signer.digest.hash(content))),
        ] + attributes
        let signedSet = DER.setOf(signed.map { $0.der })
        let signature: [UInt8]
        do {
            signature = try signer.key.sign(digest: signer.digest.hash(signedSet), algorithm: signer.digest, random: random)
        } catch {
            throw .crypto(error)
        }
        // The signature covers the attributes as a SET; on the wire they are [0] IMPLICIT.
        let signedAttrs = [DERTag.contextConstructed(0)] + signedSet.dropFirst()
        let signerInfo = DER.sequence([
            DER.integer(1),
            IssuerAndSerialNumber(signer.certificate).der,
            digestAlgorithm.der,
            signedAttrs,
            AlgorithmIdentifier.withNull(OID.rsaEncryption).der,
            DER.octetString(signature),
        ])
        let signedData = DER.sequence([
            DER.integer(1),
            DER.setOf([digestAlgorithm.der]),
            DER.sequence([DER.objectIdentifier(OID.data), DER.explicit(0, DER.octetString(content))]),
            DER.tlv(DERTag.contextConstructed(0), signer.certificate.der),
            DER.setOf([signerInfo]),
        ])
        return ContentInfo.wrap(OID.signedData, signedData)
    }

    /// The degenerate certs-only form (RFC 8894 section 3.4): certificates, no content, no signer.
    public static func certificatesOnly(_ certificates: [[UInt8]]) -> [UInt8] {
        let signedData = DER.sequence([
            DER.integer(1),
            DER.tlv(DERTag.set, [UInt8]()),
            DER.sequence([DER.objectIdentifier(OID.data)]),
            DER.tlv(DERTag.contextConstructed(0), certificates.flatMap { $0 }),
            DER.tlv(DERTag.set, [UInt8]()),
        ])
        return ContentInfo.wrap(OID.signedData, signedData)
    }

    // MARK: Parsing

    /// Parses a ContentInfo holding SignedData.
    public init(der bytes: [UInt8], context: String) throws(CMSError) {
        let info = try ContentInfo(der: bytes[...], context: context)
        let element = try info.expect(OID.signedData)
        do throws(DERError) {
            var fields = try element.reader(context + ".signedData")
            _ = try fields.readSmallInteger()
            _ = try fields.read(DERTag.set)
            var encapsulated = try fields.enterSequence(context + ".encapContentInfo")
            contentType = try encapsulated.readObjectIdentifier()
            if let explicit = try encapsulated.readIfPresent(DERTag.contextConstructed(0)) {
                var inner = try explicit.reader(context + ".eContent")
                content = try octetStringAllowingChunks(try inner.read(), primitiveTag: DERTag.octetString, context + ".eContent")
                try inner.finish()
            } else {
                content = nil
            }
            try encapsulated.finish()

            var parsedCertificates: [Certificate] = []
            if let set = try fields.readIfPresent(DERTag.contextConstructed(0)) {
                var members = try set.reader(context + ".certificates")
                while !members.isAtEnd {
                    let member = try members.read()
                    // Only X.509 certificates (SEQUENCE); other choices (attribute certificates) are skipped.
                    if member.tag == DERTag.sequence {
                        parsedCertificates.append(try Certificate(der: Array(member.encoded)))
                    }
                }
            }
            certificates = parsedCertificates
            var parsedCRLs: [[UInt8]] = []
            if let set = try fields.readIfPresent(DERTag.contextConstructed(1)) {
                var members = try set.reader(context + ".crls")
                while !members.isAtEnd {
                    let member = try members.read()
                    if member.tag == DERTag.sequence { parsedCRLs.append(Array(member.encoded)) }
                }
            }
            crls = parsedCRLs

            var signerSet = try fields.enter(DERTag.set, context + ".signerInfos")
            var parsedSigners: [SignerInfo] = []
            while !signerSet.isAtEnd {
                parsedSigners.append(try SignerInfo(from: &signerSet, context + ".signerInfo"))
            }
            signers = parsedSigners
            try fields.finish()
        } catch {
            throw .malformed(error)
        }
    }

    /// Verifies the only signer with `certificate`, and returns its signed attributes.
    public func verify(signer certificate: Certificate, signerInfo: SignerInfo) throws(CMSError) -> [Attribute] {
        guard let content else { throw .malformed(DERError(.badValue("no content to verify"), "SignedData")) }
        guard let digest = AlgorithmNames.digest(signerInfo.digestAlgorithm.algorithm) else {
            throw .unsupportedAlgorithm(signerInfo.digestAlgorithm.algorithm.description)
        }
        let signatureOID = signerInfo.signatureAlgorithm.algorithm
        if signatureOID != OID.rsaEncryption {
            guard AlgorithmNames.signatureDigest(signatureOID) == digest else {
                throw .unsupportedAlgorithm(signatureOID.description)
            }
        }
        guard let signedDER = signerInfo.signedAttributesDER else {
            throw .malformed(DERError(.badValue("no signed attributes"), "SignerInfo"))
        }
        guard let messageDigest = signerInfo.signedAttributes.value(of: OID.messageDigest),
              messageDigest == DER.octetString(digest.hash(content)) else { throw .messageDigestMismatch }
        guard signerInfo.signedAttributes.value(of: OID.contentType) == DER.objectIdentifier(contentType) else {
            throw .contentTypeMismatch
        }
        let key: RSAPublicKey
        do {
            key = try RSAPublicKey(publicKeyInfo: certificate.publicKeyInfo)
        } catch {
            throw .crypto(error)
        }
        guard key.verify(signature: signerInfo.signature, digest: digest.hash(signedDER), algorithm: digest) else {
            throw .badSignature
        }
        return signerInfo.signedAttributes
    }
}

/// SignerInfo (RFC 5652 section 5.3), keeping the signed attributes' encoding for verification.
public struct SignerInfo {
    public enum Identifier: Equatable {
        case issuerAndSerialNumber(IssuerAndSerialNumber)
        case subjectKeyIdentifier([UInt8])
    }

    public let identifier: Identifier
    public let digestAlgorithm: AlgorithmIdentifier
    public let signedAttributes: [Attribute]
    /// The signed attributes re-tagged as a SET: exactly the bytes the signature covers.
    public let signedAttributesDER: [UInt8]?
    public let signatureAlgorithm: AlgorithmIdentifier
    public let signature: [UInt8]

    init(from reader: inout DERReader, _ context: String) throws(DERError) {
        var fields = try reader.enterSequence(context)
        let version = try fields.readSmallInteger()
        if version == 3 {
            let keyIdentifier = try fields.read(DERTag.contextPrimitive(0))
            identifier = .subjectKeyIdentifier(Array(keyIdentifier.contents))
        } else {
            identifier = .issuerAndSerialNumber(try IssuerAndSerialNumber(from: &fields, context + ".sid"))
        }
        digestAlgorithm = try AlgorithmIdentifier(from: &fields, context + ".digestAlgorithm")
        if let signed = try fields.readIfPresent(DERTag.contextConstructed(0)) {
            signedAttributesDER = [DERTag.set] + Array(signed.encoded.dropFirst())
            signedAttributes = try parseAttributes(signed, context + ".signedAttrs")
        } else {
            signedAttributesDER = nil
            signedAttributes = []
        }
        signatureAlgorithm = try AlgorithmIdentifier(from: &fields, context + ".signatureAlgorithm")
        signature = Array(try fields.readOctetString())
        _ = try fields.readIfPresent(DERTag.contextConstructed(1))
        try fields.finish()
    }

    /// Whether this signer names `certificate`.
    public func identifies(_ certificate: Certificate) -> Bool {
        switch identifier {
        case .issuerAndSerialNumber(let name): name.identifies(certificate)
        case .subjectKeyIdentifier: false
        }
    }
}

func parseAttributes(_ element: DERElement, _ context: String) throws(DERError) -> [Attribute] {
    var set = try element.reader(context)
    var attributes: [Attribute] = []
    while !set.isAtEnd {
        var attribute = try set.enterSequence(context)
        let type = try attribute.readObjectIdentifier()
        var valueSet = try attribute.enter(DERTag.set, context)
        var values: [[UInt8]] = []
        while !valueSet.isAtEnd { values.append(Array(try valueSet.read().encoded)) }
        try attribute.finish()
        attributes.append(Attribute(type: type, values: values))
    }
    return attributes
}

/// An OCTET STRING's bytes, whether `element` is primitive (tag `primitiveTag`) or constructed
/// from primitive OCTET STRING chunks (BER's form, which some CMS producers use for content even in
/// otherwise-DER messages). Chunks nest one level only. Serves eContent (OCTET STRING) and
/// encryptedContent ([0] IMPLICIT OCTET STRING) alike.
func octetStringAllowingChunks(_ element: DERElement, primitiveTag: UInt8, _ context: String) throws(DERError) -> [UInt8] {
    if element.tag == primitiveTag { return Array(element.contents) }
    guard element.tag == primitiveTag | 0x20 else {
        throw DERError(.unexpectedTag(expected: primitiveTag, found: element.tag), context)
    }
    var chunks = try element.reader(context)
    var bytes: [UInt8] = []
    while !chunks.isAtEnd { bytes.append(contentsOf: try chunks.readOctetString()) }
    return bytes
}
