import ASN1
import Crypto

/// A PKCS#10 certification request (RFC 2986) as SCEP sends it: the subject, the public key, the
/// challengePassword attribute (RFC 8894 section 2.4) and optionally an extensionRequest.
public struct CertificationRequestBuilder {
    public var subject: DistinguishedName
    public var extensions: [CertificateExtension] = []

    public init(subject: DistinguishedName) { self.subject = subject }

    /// The signed request's DER. The challenge is copied into the request only for the duration
    /// of this call's encoding; callers wipe their `SecretBytes`.
    public func build(key: RSAPrivateKey, challenge: SecretBytes?, digest: DigestAlgorithm = .sha256,
                      random: RandomGenerator) throws(CryptoError) -> [UInt8] {
        var attributes: [[UInt8]] = []
        if let challenge {
            let value = challenge.withBytes { bytes in
                let text = String(decoding: bytes, as: UTF8.self)
                return DER.isPrintable(text) ? DER.tlv(DERTag.printableString, Array(bytes))
                                             : DER.tlv(DERTag.utf8String, Array(bytes))
            }
            attributes.append(DER.sequence([DER.objectIdentifier(OID.challengePassword), DER.setOf([value])]))
        }
        if !extensions.isEmpty {
            attributes.append(DER.sequence([DER.objectIdentifier(OID.extensionRequest),
                                            DER.setOf([DER.sequence(extensions.map { $0.der })])]))
        }
        let info = DER.sequence([
            DER.integer(0),
            subject.der,
            try key.publicKeyInfoDER(),
            DER.setOf(attributes, tag: DERTag.contextConstructed(0)),
        ])
        return try signStructure(info, key: key, digest: digest, random: random)
    }
}

/// What a parsed certification request holds: the pieces a test or a server checks.
public struct CertificationRequest {
    public let subject: DistinguishedName
    public let publicKeyInfo: [UInt8]
    public let challengePassword: [UInt8]?
    public let infoDER: [UInt8]
    public let signatureAlgorithm: AlgorithmIdentifier
    public let signature: [UInt8]

    public init(der: [UInt8]) throws(DERError) {
        var top = try DERReader(der, context: "CertificationRequest")
        var request = try top.enterSequence("CertificationRequest")
        try top.finish()
        let infoElement = try request.read(DERTag.sequence)
        infoDER = Array(infoElement.encoded)
        var info = try infoElement.reader("CertificationRequest.info")
        guard try info.readSmallInteger() == 0 else { throw DERError(.badValue("unknown version"), "CertificationRequest") }
        subject = try DistinguishedName(der: try info.read(DERTag.sequence), context: "CertificationRequest.subject")
        publicKeyInfo = Array(try info.read(DERTag.sequence).encoded)
        var attributes = try info.enter(DERTag.contextConstructed(0), "CertificationRequest.attributes")
        var challenge: [UInt8]? = nil
        while !attributes.isAtEnd {
            var attribute = try attributes.enterSequence("CertificationRequest.attribute")
            let type = try attribute.readObjectIdentifier()
            var values = try attribute.enter(DERTag.set, "CertificationRequest.attribute.values")
            if type == OID.challengePassword { challenge = Array(try values.read().contents) }
        }
        challengePassword = challenge
        signatureAlgorithm = try AlgorithmIdentifier(from: &request, "CertificationRequest.signatureAlgorithm")
        signature = Array(try request.readBitStringBytes())
        try request.finish()
    }

    public func verifySignature() -> Bool {
        guard let digest = AlgorithmNames.signatureDigest(signatureAlgorithm.algorithm),
              let key = try? RSAPublicKey(publicKeyInfo: publicKeyInfo) else { return false }
        return key.verify(signature: signature, digest: digest.hash(infoDER), algorithm: digest)
    }
}
