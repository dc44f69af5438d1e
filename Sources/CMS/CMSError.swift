import ASN1
import Crypto

/// Why a CMS message could not be built, read, verified or opened.
public enum CMSError: Error, Equatable, CustomStringConvertible {
    case malformed(DERError)
    case unexpectedContentType(expected: String, found: String)
    case unsupportedAlgorithm(String)
    case signerCertificateMissing
    case noSigner
    case messageDigestMismatch
    case contentTypeMismatch
    case badSignature
    case notARecipient
    case crypto(CryptoError)

    public var description: String {
        switch self {
        case .malformed(let error): "\(error)"
        case .unexpectedContentType(let expected, let found): "expected CMS \(expected), found \(found)"
        case .unsupportedAlgorithm(let name): "unsupported algorithm \(name)"
        case .signerCertificateMissing: "the signer's certificate is not in the message or among the CA certificates"
        case .noSigner: "the message has no signer"
        case .messageDigestMismatch: "the signed messageDigest does not match the content"
        case .contentTypeMismatch: "the signed contentType does not match the content"
        case .badSignature: "the signature does not verify"
        case .notARecipient: "the message is not encrypted to our certificate"
        case .crypto(let error): "\(error)"
        }
    }
}
