import ASN1
import Crypto

/// The bridge between algorithm OIDs on the wire and the crypto layer's algorithms.
public enum AlgorithmNames {
    public static func digest(_ identifier: ObjectIdentifier) -> DigestAlgorithm? {
        switch identifier {
        case OID.sha1: .sha1
        case OID.sha256: .sha256
        case OID.sha384: .sha384
        case OID.sha512: .sha512
        default: nil
        }
    }

    public static func identifier(of digest: DigestAlgorithm) -> ObjectIdentifier {
        switch digest {
        case .sha1: OID.sha1
        case .sha256: OID.sha256
        case .sha384: OID.sha384
        case .sha512: OID.sha512
        }
    }

    public static func cipher(_ identifier: ObjectIdentifier) -> ContentCipher? {
        switch identifier {
        case OID.aes128CBC: .aes128CBC
        case OID.aes192CBC: .aes192CBC
        case OID.aes256CBC: .aes256CBC
        case OID.desEDE3CBC: .desEDE3CBC
        case OID.desCBC: .desCBC
        default: nil
        }
    }

    public static func identifier(of cipher: ContentCipher) -> ObjectIdentifier {
        switch cipher {
        case .aes128CBC: OID.aes128CBC
        case .aes192CBC: OID.aes192CBC
        case .aes256CBC: OID.aes256CBC
        case .desEDE3CBC: OID.desEDE3CBC
        case .desCBC: OID.desCBC
        }
    }

    /// The named curve of an EC SubjectPublicKeyInfo's parameters.
    public static func curve(_ identifier: ObjectIdentifier) -> EllipticCurve? {
        switch identifier {
        case OID.secp256r1: .p256
        case OID.secp384r1: .p384
        default: nil
        }
    }

    public static func identifier(of curve: EllipticCurve) -> ObjectIdentifier {
        switch curve {
        case .p256: OID.secp256r1
        case .p384: OID.secp384r1
        }
    }
}

/// A signature algorithm of certificates, requests and CMS signers: PKCS#1 v1.5 with RSA, or
/// ECDSA, each over a digest.
public enum SignatureAlgorithm: Equatable, Sendable {
    case rsaPKCS1(DigestAlgorithm)
    case ecdsa(DigestAlgorithm)

    public var digest: DigestAlgorithm {
        switch self {
        case .rsaPKCS1(let digest), .ecdsa(let digest): digest
        }
    }

    /// The algorithm a key of `type` signs with, over `digest`.
    public init(key type: KeyType, digest: DigestAlgorithm) {
        self = type.isRSA ? .rsaPKCS1(digest) : .ecdsa(digest)
    }

    /// From a certificate's or request's signatureAlgorithm. RSA algorithms carry NULL (or, from
    /// some encoders, no) parameters; ECDSA ones none (RFC 5758 section 3.2).
    public init?(_ identifier: AlgorithmIdentifier) {
        switch identifier.algorithm {
        case OID.sha1WithRSAEncryption: self = .rsaPKCS1(.sha1)
        case OID.sha256WithRSAEncryption: self = .rsaPKCS1(.sha256)
        case OID.sha384WithRSAEncryption: self = .rsaPKCS1(.sha384)
        case OID.sha512WithRSAEncryption: self = .rsaPKCS1(.sha512)
        case OID.ecdsaWithSHA1: self = .ecdsa(.sha1)
        case OID.ecdsaWithSHA256: self = .ecdsa(.sha256)
        case OID.ecdsaWithSHA384: self = .ecdsa(.sha384)
        case OID.ecdsaWithSHA512: self = .ecdsa(.sha512)
        default: return nil
        }
        if case .ecdsa = self { guard identifier.parameters == nil else { return nil } }
        guard identifier.hasNoParameters else { return nil }
    }

    public var identifier: AlgorithmIdentifier {
        switch self {
        case .rsaPKCS1(let digest):
            switch digest {
            case .sha1: .withNull(OID.sha1WithRSAEncryption)
            case .sha256: .withNull(OID.sha256WithRSAEncryption)
            case .sha384: .withNull(OID.sha384WithRSAEncryption)
            case .sha512: .withNull(OID.sha512WithRSAEncryption)
            }
        case .ecdsa(let digest):
            switch digest {
            case .sha1: AlgorithmIdentifier(OID.ecdsaWithSHA1)
            case .sha256: AlgorithmIdentifier(OID.ecdsaWithSHA256)
            case .sha384: AlgorithmIdentifier(OID.ecdsaWithSHA384)
            case .sha512: AlgorithmIdentifier(OID.ecdsaWithSHA512)
            }
        }
    }

    /// Whether a key of `type` makes signatures of this algorithm.
    public func fits(_ type: KeyType) -> Bool {
        switch self {
        case .rsaPKCS1: type.isRSA
        case .ecdsa: !type.isRSA
        }
    }

    /// Checks `signature` over `signed` with the key in `publicKeyInfo`.
    public func verify(_ signature: [UInt8], over signed: ArraySlice<UInt8>, publicKeyInfo: [UInt8]) -> Bool {
        guard let key = try? PublicKey(publicKeyInfo: publicKeyInfo), fits(key.type) else { return false }
        return key.verify(signature: signature, digest: digest.hash(signed), algorithm: digest)
    }
}
