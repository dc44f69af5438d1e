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

    /// The digest inside an RSA signature algorithm (sha256WithRSAEncryption -> SHA-256).
    public static func signatureDigest(_ identifier: ObjectIdentifier) -> DigestAlgorithm? {
        switch identifier {
        case OID.sha1WithRSAEncryption: .sha1
        case OID.sha256WithRSAEncryption: .sha256
        case OID.sha384WithRSAEncryption: .sha384
        case OID.sha512WithRSAEncryption: .sha512
        default: nil
        }
    }

    public static func signatureIdentifier(of digest: DigestAlgorithm) -> ObjectIdentifier {
        switch digest {
        case .sha1: OID.sha1WithRSAEncryption
        case .sha256: OID.sha256WithRSAEncryption
        case .sha384: OID.sha384WithRSAEncryption
        case .sha512: OID.sha512WithRSAEncryption
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
}
