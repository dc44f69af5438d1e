import ASN1
import Crypto

/// A PKCS#10 certification request (RFC 2986) as SCEP sends it: the subject, the public key, the
/// challengePassword attribute (RFC 8894 section 2.4) and optionally an extensionRequest.
public struct CertificationRequestBuilder {
    public var subject: DistinguishedName
    public var extensions: [CertificateExtension] = []

    public init(subject: DistinguishedName) { self.subject = subject }

    /// The signed request's DER, secret because it carries the challenge. Every buffer that held
    /// the challenge on the way is allocated once, at its final size, and wiped here.
    public func build(key: PrivateKey, challenge: SecretBytes?, digest: DigestAlgorithm) throws(CryptoError) -> SecretBytes {
        var info = DERWriter(reservingCapacity: 1024 + key.publicKeyInfo.count + (challenge?.count ?? 0)
                             + subject.derEncoded.count + extensions.reduce(0) { $0 + $1.value.count + 32 })
        defer { info.wipe() }
        // The attributes are a SET OF, which DER sorts by encoding: each is encoded alone, into
        // a buffer sized for it and wiped afterwards.
        var attributes: [[UInt8]] = []
        defer { for index in attributes.indices { for byte in attributes[index].indices { attributes[index][byte] = 0 } } }
        if let challenge {
            var attribute = DERWriter(reservingCapacity: challenge.count + 32)
            attribute.writeSequence { writer in
                writer.write(OID.challengePassword)
                writer.writeConstructed(DERTag.set) { writer in
                    challenge.withBytes { bytes in
                        let printable = bytes.allSatisfy(DERWriter.isPrintableCharacter)
                        writer.writePrimitive(printable ? DERTag.printableString : DERTag.utf8String, bytes)
                    }
                }
            }
            attributes.append(attribute.bytes)
        }
        if !extensions.isEmpty {
            attributes.append(DER.encode { writer in
                writer.writeSequence { writer in
                    writer.write(OID.extensionRequest)
                    writer.writeConstructed(DERTag.set) { writer in
                        writer.writeSequence { writer in
                            for item in extensions { writer.write(item) }
                        }
                    }
                }
            })
        }
        info.writeSequence { writer in
            writer.writeInteger(0)
            writer.write(subject)
            writer.writeEncoded(key.publicKeyInfo)
            writer.writeSetOf(attributes, tag: DERTag.contextConstructed(0))
        }
        return SecretBytes(try signStructure(info.bytes, key: key, digest: digest))
    }
}

/// What a parsed certification request holds: the pieces a test or a server checks.
public struct CertificationRequest: DERParseable {
    public let subject: DistinguishedName
    public let publicKeyInfo: [UInt8]
    public let challengePassword: [UInt8]?
    public let infoDER: [UInt8]
    public let signatureAlgorithm: AlgorithmIdentifier
    public let signature: [UInt8]

    public static var derName: String { "CertificationRequest" }

    public init(derElement element: DERElement) throws(DERError) {
        guard element.tag == DERTag.sequence else {
            throw DERError(.unexpectedTag(expected: DERTag.sequence, found: element.tag), at: element.offset)
        }
        var request = try element.reader()
        let infoElement = try request.read(DERTag.sequence)
        infoDER = Array(infoElement.encoded)
        (subject, publicKeyInfo, challengePassword) = try infoElement.sequence { (info) throws(DERError) in
            let versionOffset = info.offset
            let version = try info.readSmallInteger()
            guard version == 0 else { throw DERError(.invalid(.version(version + 1)), at: versionOffset) }
            let subject = try info.decode(DistinguishedName.self)
            let key = try info.decode(SubjectPublicKeyInfo.self).der
            var challenge: [UInt8]? = nil
            var attributes = try info.enter(DERTag.contextConstructed(0))
            while !attributes.isAtEnd {
                var attribute = try attributes.enterSequence()
                let type = try attribute.readObjectIdentifier()
                var values = try attribute.enter(DERTag.set)
                if type == OID.challengePassword { challenge = Array(try values.read().contents) }
            }
            return (subject, key, challenge)
        }
        signatureAlgorithm = try request.decode(AlgorithmIdentifier.self)
        signature = Array(try request.readBitStringBytes())
        try request.finish()
    }

    public init(der bytes: [UInt8]) throws(DERError) {
        try self.init(derEncoded: bytes)
    }

    public func verifySignature() -> Bool {
        guard let algorithm = SignatureAlgorithm(signatureAlgorithm) else { return false }
        return algorithm.verify(signature, over: infoDER[...], publicKeyInfo: publicKeyInfo)
    }
}
