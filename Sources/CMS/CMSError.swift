import ASN1
import Crypto

/// Why a CMS message could not be built, read, verified or opened.
public enum CMSError: Error, Equatable, Sendable, CustomStringConvertible {
    case malformed(DERError)
    case unexpectedContentType(expected: ObjectIdentifier, found: ObjectIdentifier)
    case unsupportedAlgorithm(ObjectIdentifier)
    case noSigner
    case messageDigestMismatch
    case contentTypeMismatch
    /// The signer's algorithm does not fit its key (an RSA signature from an EC certificate).
    case signatureAlgorithmMismatch
    case badSignature
    /// No recipient of the envelope is one this device can open; the kinds it offered.
    case notARecipient(offered: [RecipientKind])
    /// A password recipient, but no challenge password to open it with.
    case noPassword
    case crypto(CryptoError)

    public var description: String {
        switch self {
        case .malformed(let error): "\(error)"
        case .unexpectedContentType(let expected, let found): "expected CMS \(expected), found \(found)"
        case .unsupportedAlgorithm(let identifier): "unsupported algorithm \(identifier)"
        case .noSigner: "the message has no signer"
        case .messageDigestMismatch: "the signed messageDigest does not match the content"
        case .contentTypeMismatch: "the signed contentType does not match the content"
        case .signatureAlgorithmMismatch: "the signature algorithm does not fit the signer's key"
        case .badSignature: "the signature does not verify"
        case .notARecipient(let offered):
            "the message is not encrypted to this device's key (it offers "
                + (offered.isEmpty ? "no recipient" : offered.map { $0.text }.joined(separator: ", ")) + ")"
        case .noPassword: "the message is encrypted to a password, and no challenge password is configured"
        case .crypto(let error): "\(error)"
        }
    }
}

/// The kinds of CMS recipient (RFC 5652 section 6.2), as an envelope offers them.
public enum RecipientKind: Equatable, Sendable {
    /// Key transport to another certificate than ours, or with an algorithm other than RSA.
    case keyTransportToOther
    case keyTransport
    case keyAgreement
    case password
    case other

    var text: String {
        switch self {
        case .keyTransportToOther: "key transport to another certificate"
        case .keyTransport: "RSA key transport"
        case .keyAgreement: "key agreement"
        case .password: "a password"
        case .other: "a recipient kind this agent does not support"
        }
    }
}
