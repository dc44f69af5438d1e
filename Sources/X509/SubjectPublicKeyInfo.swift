import ASN1
import Crypto

/// SubjectPublicKeyInfo ::= SEQUENCE { algorithm AlgorithmIdentifier, subjectPublicKey BIT STRING }
///
/// Kept with its whole encoding: keys are compared, and handed to the crypto layer, as DER.
public struct SubjectPublicKeyInfo: Equatable, Sendable, DERParseable {
    public let der: [UInt8]
    public let algorithm: AlgorithmIdentifier
    /// The BIT STRING's bytes: an RSAPublicKey, or an EC point.
    public let key: [UInt8]

    public static var derName: String { "SubjectPublicKeyInfo" }

    public init(derElement element: DERElement) throws(DERError) {
        der = Array(element.encoded)
        (algorithm, key) = try element.sequence { (fields) throws(DERError) in
            (try fields.decode(AlgorithmIdentifier.self), Array(try fields.readBitStringBytes()))
        }
    }

    /// The key's kind as the agent names it: RSA (of any size), or EC on a supported curve; nil
    /// for anything else (DSA, Ed25519, an unknown curve).
    public var keyType: KeyType? {
        switch algorithm.algorithm {
        case OID.rsaEncryption:
            return (try? PublicKey(publicKeyInfo: der))?.type
        case OID.ecPublicKey:
            return algorithm.parameterIdentifier.flatMap(AlgorithmNames.curve).map { .ec($0) }
        default:
            return nil
        }
    }
}

/// Validity ::= SEQUENCE { notBefore Time, notAfter Time }, as seconds since the epoch.
public struct Validity: Equatable, Sendable, DERParseable, DERSerializable {
    public let notBefore: Int64
    public let notAfter: Int64

    public init(notBefore: Int64, notAfter: Int64) {
        self.notBefore = notBefore
        self.notAfter = notAfter
    }

    public static var derName: String { "Validity" }

    public init(derElement element: DERElement) throws(DERError) {
        (notBefore, notAfter) = try element.sequence { (fields) throws(DERError) in
            (try DERTime.parse(try fields.read()), try DERTime.parse(try fields.read()))
        }
    }

    public func serialize(into writer: inout DERWriter) {
        writer.writeSequence { writer in
            DERTime.write(notBefore, into: &writer)
            DERTime.write(notAfter, into: &writer)
        }
    }

    public func contains(_ time: Int64) -> Bool { notBefore <= time && time <= notAfter }
}
