import ASN1
import Crypto
import Encoding

/// An X.509 certificate (RFC 5280), parsed for what SCEP needs and keeping every encoding that a
/// signature or a comparison covers.
public struct Certificate: Equatable {
    /// The whole certificate, as received.
    public let der: [UInt8]
    /// TBSCertificate's encoding: what the issuer signed.
    public let tbsDER: [UInt8]
    /// The serial number's INTEGER content octets, exactly as encoded.
    public let serialNumber: [UInt8]
    public let issuer: DistinguishedName
    public let issuerDER: [UInt8]
    public let subject: DistinguishedName
    public let subjectDER: [UInt8]
    public let notBefore: Int64
    public let notAfter: Int64
    /// SubjectPublicKeyInfo's encoding.
    public let publicKeyInfo: [UInt8]
    public let publicKeyAlgorithm: ObjectIdentifier
    public let keyUsage: KeyUsage?
    public let isCA: Bool
    public let signatureAlgorithm: AlgorithmIdentifier
    public let signature: [UInt8]

    public init(der bytes: [UInt8]) throws(DERError) {
        let context = "Certificate"
        der = bytes
        var top = try DERReader(bytes, context: context)
        var certificate = try top.enterSequence(context)
        try top.finish()

        let tbsElement = try certificate.read(DERTag.sequence)
        tbsDER = Array(tbsElement.encoded)
        var tbs = try tbsElement.reader("Certificate.tbsCertificate")
        var version = 0
        if let explicitVersion = try tbs.readIfPresent(DERTag.contextConstructed(0)) {
            var versionReader = try explicitVersion.reader("Certificate.version")
            version = try versionReader.readSmallInteger()
        }
        guard version <= 2 else { throw DERError(.badValue("unknown version \(version + 1)"), "Certificate.version") }
        serialNumber = Array(try tbs.readIntegerBytes())
        let innerSignature = try AlgorithmIdentifier(from: &tbs, "Certificate.signature")
        let issuerElement = try tbs.read(DERTag.sequence)
        issuerDER = Array(issuerElement.encoded)
        issuer = try DistinguishedName(der: issuerElement, context: "Certificate.issuer")
        var validity = try tbs.enterSequence("Certificate.validity")
        notBefore = try DERTime.parse(try validity.read(), context: "Certificate.validity.notBefore")
        notAfter = try DERTime.parse(try validity.read(), context: "Certificate.validity.notAfter")
        try validity.finish()
        let subjectElement = try tbs.read(DERTag.sequence)
        subjectDER = Array(subjectElement.encoded)
        subject = try DistinguishedName(der: subjectElement, context: "Certificate.subject")
        let keyInfoElement = try tbs.read(DERTag.sequence)
        publicKeyInfo = Array(keyInfoElement.encoded)
        var keyInfo = try keyInfoElement.reader("Certificate.subjectPublicKeyInfo")
        publicKeyAlgorithm = try AlgorithmIdentifier(from: &keyInfo, "Certificate.subjectPublicKeyInfo.algorithm").algorithm
        _ = try tbs.readIfPresent(DERTag.contextPrimitive(1))
        _ = try tbs.readIfPresent(DERTag.contextPrimitive(2))

        var usage: KeyUsage? = nil
        var ca = false
        if let extensionsElement = try tbs.readIfPresent(DERTag.contextConstructed(3)) {
            var wrapper = try extensionsElement.reader("Certificate.extensions")
            var extensions = try wrapper.enterSequence("Certificate.extensions")
            try wrapper.finish()
            while !extensions.isAtEnd {
                var field = try extensions.enterSequence("Certificate.extension")
                let identifier = try field.readObjectIdentifier()
                if field.nextTag == DERTag.boolean { _ = try field.readBoolean() }
                let value = try field.readOctetString()
                try field.finish()
                if identifier == OID.keyUsage {
                    usage = try KeyUsage(extensionValue: value)
                } else if identifier == OID.basicConstraints {
                    var outer = try DERReader(value, context: "Certificate.basicConstraints")
                    var constraints = try outer.enterSequence("Certificate.basicConstraints")
                    if constraints.nextTag == DERTag.boolean { ca = try constraints.readBoolean() }
                }
            }
        }
        try tbs.finish()
        keyUsage = usage
        isCA = ca

        signatureAlgorithm = try AlgorithmIdentifier(from: &certificate, "Certificate.signatureAlgorithm")
        guard signatureAlgorithm.algorithm == innerSignature.algorithm else {
            throw DERError(.badValue("signature algorithms disagree"), "Certificate.signatureAlgorithm")
        }
        signature = Array(try certificate.readBitStringBytes())
        try certificate.finish()
    }

    /// SHA-256 over the whole DER: what `--ca-fingerprint` pins (RFC 8894 section 2.2).
    public var sha256Fingerprint: [UInt8] { DigestAlgorithm.sha256.hash(der) }

    public var isSelfIssued: Bool { issuerDER == subjectDER }

    /// Whether `issuer` signed this certificate: names chain and the signature verifies.
    public func isSigned(by issuer: Certificate) -> Bool {
        guard issuerDER == issuer.subjectDER,
              let digest = AlgorithmNames.signatureDigest(signatureAlgorithm.algorithm),
              let key = try? RSAPublicKey(publicKeyInfo: issuer.publicKeyInfo) else { return false }
        return key.verify(signature: signature, digest: digest.hash(tbsDER), algorithm: digest)
    }

    public func isValid(at time: Int64) -> Bool { notBefore <= time && time <= notAfter }

    /// The serial number as hex, for people.
    public var serialHex: String {
        var bytes = serialNumber[...]
        while bytes.count > 1 && bytes.first == 0 { bytes = bytes.dropFirst() }
        return Hex.encode(bytes)
    }
}
