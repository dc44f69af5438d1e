import ASN1
import CMS
import Crypto
import X509

/// Everything that can go wrong in a SCEP exchange, worded for the person reading the log.
/// None of the cases carries key material or the challenge.
public enum SCEPError: Error, Equatable, CustomStringConvertible {
    case transport(String)
    /// The server answered, but not with a usable HTTP response (malformed, oversized, TLS).
    case badHTTP(String)
    case httpStatus(Int, operation: String)
    case unexpectedContentType(String, operation: String)
    case caFingerprintMismatch(expected: String, found: [String])
    case noCACertificates
    case untrustedCertificate(ChainError)
    case noUsableCipher(offered: String)
    case malformedReply(String)
    case replyNotVerified(String)
    case wrongMessageType(String)
    case transactionIDMismatch
    case recipientNonceMismatch
    case serverFailure(FailInfo?, text: String?)
    case issuedCertificateNotOurs
    case noIssuedCertificate
    case request(String)

    public var description: String {
        switch self {
        case .transport(let detail): "cannot reach the SCEP server: \(detail)"
        case .badHTTP(let detail): "the SCEP server's answer is unusable: \(detail)"
        case .httpStatus(let status, let operation): "\(operation): the server answered HTTP \(status)"
        case .unexpectedContentType(let type, let operation): "\(operation): unexpected Content-Type '\(type)'"
        case .caFingerprintMismatch(let expected, let found):
            "CA fingerprint mismatch: expected \(expected), the server sent \(found.joined(separator: ", ")); refusing to continue"
        case .noCACertificates: "GetCACert returned no certificates"
        case .untrustedCertificate(let error): "untrusted certificate: \(error)"
        case .noUsableCipher(let offered):
            "the server offers no acceptable content cipher (capabilities: \(offered)); 3DES needs --allow-weak-crypto"
        case .malformedReply(let detail): "malformed reply: \(detail)"
        case .replyNotVerified(let detail): "reply rejected: \(detail)"
        case .wrongMessageType(let type): "reply rejected: messageType is \(type), not CertRep"
        case .transactionIDMismatch: "reply rejected: transactionID does not match our request"
        case .recipientNonceMismatch: "reply rejected: recipientNonce does not match our senderNonce (replayed or misdirected reply)"
        case .serverFailure(let info, let text):
            "the server refused the request: FAILURE"
                + (info.map { " \($0.name) (\($0.meaning))" } ?? "")
                + (text.map { ": \($0)" } ?? "")
        case .issuedCertificateNotOurs: "reply rejected: the issued certificate is not for our key"
        case .noIssuedCertificate: "reply rejected: SUCCESS without a certificate"
        case .request(let detail): "cannot build the request: \(detail)"
        }
    }

    static func from(_ error: CMSError, _ operation: String) -> SCEPError {
        switch error {
        case .malformed, .unexpectedContentType, .unsupportedAlgorithm: .malformedReply("\(operation): \(error)")
        default: .replyNotVerified("\(operation): \(error)")
        }
    }
}
