import ASN1
import Crypto
import Encoding

/// TBSCertificate (RFC 5280 section 4.1): what the issuer signed.
public struct TBSCertificate: Equatable, Sendable, DERParseable {
    /// 0 for v1, 2 for v3, as encoded.
    public let version: Int
    /// The serial number's INTEGER content octets, exactly as encoded.
    public let serialNumber: [UInt8]
    public let signature: AlgorithmIdentifier
    public let issuerDER: [UInt8]
    public let issuer: DistinguishedName
    public let validity: Validity
    public let subjectDER: [UInt8]
    public let subject: DistinguishedName
    public let publicKeyInfo: SubjectPublicKeyInfo
    public let extensions: Extensions

    public static var derName: String { "TBSCertificate" }

    public init(derElement element: DERElement) throws(DERError) {
        guard element.tag == DERTag.sequence else {
            throw DERError(.unexpectedTag(expected: DERTag.sequence, found: element.tag), at: element.offset)
        }
        var fields = try element.reader()
        var number = 0
        if let explicit = try fields.readIfPresent(DERTag.contextConstructed(0)) {
            number = try explicit.withContents(of: DERTag.contextConstructed(0)) { (inner) throws(DERError) in
                try inner.readSmallInteger()
            }
            guard number <= 2 else { throw DERError(.invalid(.version(number + 1)), at: explicit.offset) }
        }
        version = number
        serialNumber = Array(try fields.readIntegerBytes())
        signature = try fields.decode(AlgorithmIdentifier.self)
        let issuerElement = try fields.read(DERTag.sequence)
        issuerDER = Array(issuerElement.encoded)
        issuer = try DistinguishedName.decode(issuerElement)
        validity = try fields.decode(Validity.self)
        let subjectElement = try fields.read(DERTag.sequence)
        subjectDER = Array(subjectElement.encoded)
        subject = try DistinguishedName.decode(subjectElement)
        publicKeyInfo = try fields.decode(SubjectPublicKeyInfo.self)
        _ = try fields.readIfPresent(DERTag.contextPrimitive(1))   // issuerUniqueID
        _ = try fields.readIfPresent(DERTag.contextPrimitive(2))   // subjectUniqueID
        if let wrapper = try fields.readIfPresent(DERTag.contextConstructed(3)) {
            extensions = try wrapper.withContents(of: DERTag.contextConstructed(3)) { (inner) throws(DERError) in
                try inner.decode(Extensions.self)
            }
        } else {
            extensions = Extensions()
        }
        try fields.finish()
    }
}

/// An X.509 certificate (RFC 5280), parsed into its parts, keeping every encoding that a
/// signature or a comparison covers.
public struct Certificate: Equatable, Sendable, DERParseable {
    /// The whole certificate, as received.
    public let der: [UInt8]
    /// TBSCertificate's encoding: what the issuer signed.
    public let tbsDER: [UInt8]
    public let tbs: TBSCertificate
    public let signatureAlgorithm: AlgorithmIdentifier
    public let signature: [UInt8]

    public static var derName: String { "Certificate" }

    public init(derElement element: DERElement) throws(DERError) {
        der = Array(element.encoded)
        (tbsDER, tbs, signatureAlgorithm, signature) = try element.sequence { (fields) throws(DERError) in
            let tbsElement = try fields.read(DERTag.sequence)
            let tbs = try TBSCertificate.decode(tbsElement)
            let algorithmOffset = fields.offset
            let algorithm = try fields.decode(AlgorithmIdentifier.self)
            guard algorithm == tbs.signature else { throw DERError(.invalid(.signatureAlgorithmsDisagree), at: algorithmOffset) }
            return (Array(tbsElement.encoded), tbs, algorithm, Array(try fields.readBitStringBytes()))
        }
    }

    public init(der bytes: [UInt8]) throws(DERError) {
        try self.init(derEncoded: bytes)
    }

    public static func == (lhs: Certificate, rhs: Certificate) -> Bool { lhs.der == rhs.der }

    // MARK: What callers ask of a certificate

    public var serialNumber: [UInt8] { tbs.serialNumber }
    public var issuer: DistinguishedName { tbs.issuer }
    public var issuerDER: [UInt8] { tbs.issuerDER }
    public var subject: DistinguishedName { tbs.subject }
    public var subjectDER: [UInt8] { tbs.subjectDER }
    public var notBefore: Int64 { tbs.validity.notBefore }
    public var notAfter: Int64 { tbs.validity.notAfter }
    /// SubjectPublicKeyInfo's encoding.
    public var publicKeyInfo: [UInt8] { tbs.publicKeyInfo.der }
    public var keyType: KeyType? { tbs.publicKeyInfo.keyType }
    public var extensions: Extensions { tbs.extensions }
    public var keyUsage: KeyUsage? { tbs.extensions.keyUsage }
    public var isCA: Bool { tbs.extensions.basicConstraints?.isCA ?? false }

    /// The subjectKeyIdentifier extension's value, by which CMS may name a certificate.
    public var subjectKeyIdentifier: [UInt8]? {
        guard let value = tbs.extensions.all.first(where: { $0.identifier == OID.subjectKeyIdentifier })?.value else { return nil }
        var reader = DERReader(value)
        return try? Array(reader.readOctetString())
    }

    /// SHA-256 over the whole DER: what `--ca-fingerprint` pins (RFC 8894 section 2.2).
    public var sha256Fingerprint: [UInt8] { DigestAlgorithm.sha256.hash(der) }

    public var isSelfIssued: Bool { issuerDER == subjectDER }

    /// Marked as a registration authority: RFC 6402's id-kp-cmcRA, or the Certificate Request
    /// Agent purpose Microsoft NDES gives its RA certificates.
    public var isRegistrationAuthority: Bool {
        guard let purposes = tbs.extensions.extendedKeyUsage else { return false }
        return purposes.contains(OID.cmcRA) || purposes.contains(OID.microsoftCertificateRequestAgent)
    }

    /// Whether `issuer`'s key made this certificate's signature and the names chain. Whether
    /// `issuer` may issue certificates at all is path validation's question, not this one's.
    public func isSigned(by issuer: Certificate) -> Bool {
        guard issuerDER == issuer.subjectDER, let algorithm = SignatureAlgorithm(signatureAlgorithm) else { return false }
        return algorithm.verify(signature, over: tbsDER[...], publicKeyInfo: issuer.publicKeyInfo)
    }

    public func isValid(at time: Int64) -> Bool { tbs.validity.contains(time) }

    /// The serial number as hex, for people.
    public var serialHex: String {
        var bytes = serialNumber[...]
        while bytes.count > 1 && bytes.first == 0 { bytes = bytes.dropFirst() }
        return Hex.encode(bytes)
    }
}
