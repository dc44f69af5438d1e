import ASN1
import Crypto
import X509

/// Who signs a SignedData: a key, the certificate that names it, and the digest to use.
public struct CMSSigner {
    public let key: PrivateKey
    public let certificate: Certificate
    public let digest: DigestAlgorithm

    public init(key: PrivateKey, certificate: Certificate, digest: DigestAlgorithm) {
        self.key = key
        self.certificate = certificate
        self.digest = digest
    }
}

/// CMS SignedData (RFC 5652 section 5), as SCEP uses it: one signer with signed attributes over
/// `data` content (or over no content at all: RFC 8894's PENDING and FAILURE replies), or no
/// signer at all for the certs-only form that carries certificates.
public struct SignedData: DERParseable {
    /// More certificates than any CA chain or RA set needs: a bag larger than this is refused
    /// rather than searched.
    public static let maximumCertificates = 32

    public let contentType: ObjectIdentifier
    /// The encapsulated content (eContent), or nil when absent.
    public let content: [UInt8]?
    public let certificates: [Certificate]
    /// CertificateList encodings from the crls field (GetCRL replies).
    public let crls: [[UInt8]]
    public let signers: [SignerInfo]

    // MARK: Building

    /// The whole ContentInfo for a signed message. `attributes` are added to contentType and
    /// messageDigest, which are computed here. Nil `content` leaves eContent out, and the digest
    /// is then that of empty content (RFC 8894 section 3.3.2).
    public static func build(content: [UInt8]?, signer: CMSSigner, attributes: [Attribute]) throws(CMSError) -> [UInt8] {
        let digestAlgorithm = AlgorithmIdentifier.withNull(AlgorithmNames.identifier(of: signer.digest))
        let signed = [
            Attribute(OID.contentType) { $0.write(OID.data) },
            Attribute(OID.messageDigest) { $0.writeOctetString(signer.digest.hash(content ?? [])) },
        ] + attributes
        // The signature covers the attributes as a SET; on the wire they are [0] IMPLICIT.
        let signedSet = DER.encode { $0.writeSetOf(signed) }
        let signature: [UInt8]
        do { signature = try signer.key.sign(digest: signer.digest.hash(signedSet), algorithm: signer.digest) } catch {
            throw .crypto(error)
        }
        let signatureAlgorithm = signer.key.type.isRSA ? AlgorithmIdentifier.withNull(OID.rsaEncryption)
                                                       : SignatureAlgorithm.ecdsa(signer.digest).identifier
        return DER.encode { writer in
            ContentInfo.write(OID.signedData, into: &writer) { writer in
                writer.writeSequence { writer in
                    writer.writeInteger(1)
                    writer.writeSetOf([digestAlgorithm])
                    writer.writeSequence { writer in
                        writer.write(OID.data)
                        if let content { writer.writeExplicit(0) { $0.writeOctetString(content) } }
                    }
                    writer.writeConstructed(DERTag.contextConstructed(0)) { $0.writeEncoded(signer.certificate.der) }
                    writer.writeConstructed(DERTag.set) { writer in
                        writer.writeSequence { writer in
                            writer.writeInteger(1)
                            writer.write(IssuerAndSerialNumber(signer.certificate))
                            writer.write(digestAlgorithm)
                            writer.writeEncoded([DERTag.contextConstructed(0)] + signedSet.dropFirst())
                            writer.write(signatureAlgorithm)
                            writer.writeOctetString(signature)
                        }
                    }
                }
            }
        }
    }

    /// The degenerate certs-only form (RFC 8894 section 3.4): certificates, no content, no signer.
    public static func certificatesOnly(_ certificates: [[UInt8]]) -> [UInt8] {
        DER.encode { writer in
            ContentInfo.write(OID.signedData, into: &writer) { writer in
                writer.writeSequence { writer in
                    writer.writeInteger(1)
                    writer.writeConstructed(DERTag.set) { _ in }
                    writer.writeSequence { $0.write(OID.data) }
                    writer.writeConstructed(DERTag.contextConstructed(0)) { writer in
                        for certificate in certificates { writer.writeEncoded(certificate) }
                    }
                    writer.writeConstructed(DERTag.set) { _ in }
                }
            }
        }
    }

    // MARK: Parsing

    public static var derName: String { "SignedData" }

    /// Parses a ContentInfo holding SignedData.
    public init(message bytes: [UInt8]) throws(CMSError) {
        let element = try ContentInfo(message: bytes).expect(OID.signedData)
        do { self = try SignedData.decode(element) } catch { throw .malformed(error) }
    }

    public init(derElement element: DERElement) throws(DERError) {
        guard element.tag == DERTag.sequence else {
            throw DERError(.unexpectedTag(expected: DERTag.sequence, found: element.tag), at: element.offset)
        }
        var fields = try element.reader()
        _ = try fields.readSmallInteger()
        _ = try fields.read(DERTag.set)
        (contentType, content) = try fields.read().sequence { (encapsulated) throws(DERError) in
            let type = try encapsulated.readObjectIdentifier()
            guard let explicit = try encapsulated.readIfPresent(DERTag.contextConstructed(0)) else { return (type, nil) }
            let content = try explicit.withContents(of: DERTag.contextConstructed(0)) { (inner) throws(DERError) in
                try octetStringAllowingChunks(try inner.read(), primitiveTag: DERTag.octetString)
            }
            return (type, content)
        }

        var parsedCertificates: [Certificate] = []
        if let set = try fields.readIfPresent(DERTag.contextConstructed(0)) {
            var members = try set.reader()
            while !members.isAtEnd {
                let member = try members.read()
                // Only X.509 certificates (SEQUENCE); other choices (attribute certificates) are skipped.
                guard member.tag == DERTag.sequence else { continue }
                guard parsedCertificates.count < SignedData.maximumCertificates else {
                    throw DERError(.invalid(.tooMany), at: member.offset)
                }
                parsedCertificates.append(try Certificate.decode(member))
            }
        }
        certificates = parsedCertificates
        var parsedCRLs: [[UInt8]] = []
        if let set = try fields.readIfPresent(DERTag.contextConstructed(1)) {
            var members = try set.reader()
            while !members.isAtEnd {
                let member = try members.read()
                if member.tag == DERTag.sequence { parsedCRLs.append(Array(member.encoded)) }
            }
        }
        crls = parsedCRLs
        var signerSet = try fields.enter(DERTag.set)
        signers = try signerSet.decodeAll(SignerInfo.self)
        try fields.finish()
    }

    // MARK: Verifying

    /// Verifies `signerInfo` with `certificate`, and returns its signed attributes. Absent
    /// content is verified as empty content, as RFC 8894 section 3.3.2 has PENDING and FAILURE
    /// replies signed; whether a message may lack content is the caller's question.
    public func verify(signer certificate: Certificate, signerInfo: SignerInfo) throws(CMSError) -> [Attribute] {
        guard let digest = AlgorithmNames.digest(signerInfo.digestAlgorithm.algorithm) else {
            throw .unsupportedAlgorithm(signerInfo.digestAlgorithm.algorithm)
        }
        let algorithm = try signerInfo.signatureAlgorithm(digest: digest)
        guard let signedDER = signerInfo.signedAttributesDER else {
            throw .malformed(DERError(.invalid(.missingSignedAttributes), at: 0).inside(SignerInfo.derName))
        }
        guard let messageDigest = signerInfo.signedAttributes.value(of: OID.messageDigest),
              messageDigest == DER.encode({ $0.writeOctetString(digest.hash(content ?? [])) }) else { throw .messageDigestMismatch }
        guard signerInfo.signedAttributes.value(of: OID.contentType) == contentType.derEncoded else {
            throw .contentTypeMismatch
        }
        guard let keyType = certificate.keyType, algorithm.fits(keyType) else { throw .signatureAlgorithmMismatch }
        guard algorithm.verify(signerInfo.signature, over: signedDER[...], publicKeyInfo: certificate.publicKeyInfo) else {
            throw .badSignature
        }
        return signerInfo.signedAttributes
    }
}

/// SignerInfo (RFC 5652 section 5.3), keeping the signed attributes' encoding for verification.
public struct SignerInfo: DERParseable {
    public enum Identifier: Equatable {
        case issuerAndSerialNumber(IssuerAndSerialNumber)
        case subjectKeyIdentifier([UInt8])
    }

    public let identifier: Identifier
    public let digestAlgorithm: AlgorithmIdentifier
    public let signedAttributes: [Attribute]
    /// The signed attributes re-tagged as a SET: exactly the bytes the signature covers.
    public let signedAttributesDER: [UInt8]?
    public let signatureAlgorithmIdentifier: AlgorithmIdentifier
    public let signature: [UInt8]

    public static var derName: String { "SignerInfo" }

    public init(derElement element: DERElement) throws(DERError) {
        guard element.tag == DERTag.sequence else {
            throw DERError(.unexpectedTag(expected: DERTag.sequence, found: element.tag), at: element.offset)
        }
        var fields = try element.reader()
        let version = try fields.readSmallInteger()
        if version == 3 {
            identifier = .subjectKeyIdentifier(Array(try fields.read(DERTag.contextPrimitive(0)).contents))
        } else {
            identifier = .issuerAndSerialNumber(try fields.decode(IssuerAndSerialNumber.self))
        }
        digestAlgorithm = try fields.decode(AlgorithmIdentifier.self)
        if let signed = try fields.readIfPresent(DERTag.contextConstructed(0)) {
            signedAttributesDER = [DERTag.set] + Array(signed.encoded.dropFirst())
            var set = try signed.reader()
            signedAttributes = try set.decodeAll(Attribute.self)
        } else {
            signedAttributesDER = nil
            signedAttributes = []
        }
        signatureAlgorithmIdentifier = try fields.decode(AlgorithmIdentifier.self)
        signature = Array(try fields.readOctetString())
        _ = try fields.readIfPresent(DERTag.contextConstructed(1))
        try fields.finish()
    }

    /// The signature algorithm, which servers name in several ways: the key's algorithm alone
    /// (rsaEncryption, as RFC 5652 has it; id-ecPublicKey, as some encoders write), or a
    /// signature algorithm whose digest must then agree with `digestAlgorithm`.
    func signatureAlgorithm(digest: DigestAlgorithm) throws(CMSError) -> SignatureAlgorithm {
        let identifier = signatureAlgorithmIdentifier
        switch identifier.algorithm {
        case OID.rsaEncryption: return .rsaPKCS1(digest)
        case OID.ecPublicKey: return .ecdsa(digest)
        default:
            guard let algorithm = SignatureAlgorithm(identifier), algorithm.digest == digest else {
                throw .unsupportedAlgorithm(identifier.algorithm)
            }
            return algorithm
        }
    }

    /// Whether this signer names `certificate`.
    public func identifies(_ certificate: Certificate) -> Bool {
        switch identifier {
        case .issuerAndSerialNumber(let name): name.identifies(certificate)
        case .subjectKeyIdentifier(let identifier): certificate.subjectKeyIdentifier == identifier
        }
    }
}
