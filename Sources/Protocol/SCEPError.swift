import ASN1
import CMS
import Crypto
import Encoding
import X509

/// The SCEP operations of RFC 8894 section 4, as errors name them.
public enum SCEPOperation: Equatable, Sendable {
    case getCACaps, getCACert, getNextCACert
    case pkiOperation(MessageType)

    public var name: String {
        switch self {
        case .getCACaps: "GetCACaps"
        case .getCACert: "GetCACert"
        case .getNextCACert: "GetNextCACert"
        case .pkiOperation(let type): type == .certRep ? "PKIOperation" : type.name
        }
    }
}

/// Why a reply was refused after it parsed: it is not what the request asked for, or not from
/// whom it must come.
public enum Rejection: Equatable, Sendable {
    case signature(CMSError)
    case signerCount(Int)
    case signerUnknown
    /// The signer chains to the CA, but may not sign replies: its keyUsage, or the RA pins.
    case signerNotAllowed(subject: String, why: RoleRefusal)
    case noMessageType
    case wrongMessageType(String)
    case transactionIDMismatch
    case recipientNonceMismatch
    case noStatus
    case pendingToQuery
    case successWithoutContent
    case issuedCertificateNotOurs
    case noIssuedCertificate
    case envelope(CMSError)
    case unsigned
}

/// Why a certificate may not act in a role (encrypt requests to it, or sign replies).
public enum RoleRefusal: Equatable, Sendable {
    case keyUsage
    case notPinned
    case keyType
}

/// Everything that can go wrong in a SCEP exchange. Cases carry what happened; the text is made
/// once, by `description`, where the error is shown. None of them carries key material or the
/// challenge.
public enum SCEPError: Error, Equatable, CustomStringConvertible {
    /// The server could not be reached; the transport's own words.
    case transport(String)
    /// The server answered, but not with a usable HTTP response (malformed, oversized, TLS).
    case badHTTP(String)
    case httpStatus(Int, SCEPOperation)
    case unexpectedContentType(String, SCEPOperation)
    case caFingerprintMismatch(expected: [UInt8], found: [[UInt8]])
    case noCACertificates
    case untrustedCertificate(PathError)
    case noUsableCipher(offered: [String])
    /// No certificate the server sent may receive requests (none allows it, or none is pinned).
    case noEncryptionRecipient(pinned: Bool)
    /// The recipient would be an end-entity certificate nothing marks or pins as an RA: it could
    /// be any device's certificate from the same CA.
    case unmarkedRecipient(subject: String)
    /// The request, base64 in a GET URL, would pass what servers accept, and the server does not
    /// offer POST (POSTPKIOperation).
    case getTooLong(length: Int, limit: Int)
    case malformed(SCEPOperation, CMSError)
    case rejected(SCEPOperation, Rejection)
    case serverFailure(FailInfo?, text: String?)
    case request(CMSError)

    public var description: String {
        switch self {
        case .transport(let detail): return "cannot reach the SCEP server: \(detail)"
        case .badHTTP(let detail): return "the SCEP server's answer is unusable: \(detail)"
        case .httpStatus(let status, let operation): return "\(operation.name): the server answered HTTP \(status)"
        case .unexpectedContentType(let type, let operation): return "\(operation.name): unexpected Content-Type '\(type)'"
        case .caFingerprintMismatch(let expected, let found):
            return "CA fingerprint mismatch: expected \(Hex.encode(expected)), the server sent "
                + found.map { Hex.encode($0) }.joined(separator: ", ") + "; refusing to continue"
        case .noCACertificates: return "GetCACert returned no certificates"
        case .untrustedCertificate(let error): return "untrusted certificate: \(error)"
        case .noUsableCipher(let offered):
            return "the server offers no acceptable content cipher (capabilities: \(offered.joined(separator: ","))); 3DES needs --allow-weak-crypto"
        case .noEncryptionRecipient(let pinned):
            return pinned ? "no certificate from the server matches --ra-fingerprint and may receive requests"
                          : "no certificate from the server may receive requests (none allows key encipherment)"
        case .getTooLong(let length, let limit):
            return "the request needs a GET query of \(length) bytes, over the \(limit) bytes servers accept, and the server does "
                + "not offer POSTPKIOperation; use a smaller key or ask for POST support"
        case .unmarkedRecipient(let subject):
            return "requests would be encrypted to '\(subject)', an end-entity certificate not marked as an RA, which cannot be "
                + "told from another device's certificate: pin it with --ra-fingerprint"
        case .malformed(let operation, let error): return "malformed reply: \(operation.name): \(error)"
        case .rejected(let operation, let rejection): return "reply rejected: " + rejection.text(operation)
        case .serverFailure(let info, let text):
            return "the server refused the request: FAILURE"
                + (info.map { " \($0.name) (\($0.meaning))" } ?? "")
                + (text.map { ": \($0)" } ?? "")
        case .request(let error): return "cannot build the request: \(error)"
        }
    }

    /// A CMS failure while reading a reply: its structure (malformed), or its trust (rejected).
    static func from(_ error: CMSError, _ operation: SCEPOperation) -> SCEPError {
        switch error {
        case .malformed, .unexpectedContentType, .unsupportedAlgorithm: .malformed(operation, error)
        default: .rejected(operation, .signature(error))
        }
    }
}

extension Rejection {
    func text(_ operation: SCEPOperation) -> String {
        let name = operation == .pkiOperation(.certRep) ? "CertRep" : operation.name
        switch self {
        case .signature(let error): return "\(name): \(error)"
        case .signerCount(let count): return "\(name) has \(count) signers, expected 1"
        case .signerUnknown: return "\(name): the signer's certificate is unknown"
        case .signerNotAllowed(let subject, let why): return "\(name): '\(subject)' may not sign replies (\(why.text(role: "signing")))"
        case .noMessageType: return "\(name) has no messageType"
        case .wrongMessageType(let type): return "messageType is \(type), not CertRep"
        case .transactionIDMismatch: return "transactionID does not match our request"
        case .recipientNonceMismatch: return "recipientNonce does not match our senderNonce (replayed or misdirected reply)"
        case .noStatus: return "\(name) has no valid pkiStatus"
        case .pendingToQuery: return "\(name) answered PENDING to a query"
        case .successWithoutContent, .noIssuedCertificate: return "SUCCESS without a certificate"
        case .issuedCertificateNotOurs: return "the issued certificate is not for our key"
        case .envelope(let error): return "\(name) envelope: \(error)"
        case .unsigned: return "\(name) is not signed by exactly one signer"
        }
    }
}

extension RoleRefusal {
    func text(role: String) -> String {
        switch self {
        case .keyUsage: "its keyUsage does not allow \(role)"
        case .notPinned: "it is not among --ra-fingerprint"
        case .keyType: "its key cannot be used for \(role)"
        }
    }
}
