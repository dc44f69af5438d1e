import ASN1
import CMS
import Crypto
import Protocol
import X509

/// What the network side of a transaction may ask of the key side, and all it may ask.
///
/// The network side parses everything the server sends (HTTP, TLS, DER, CMS); the key side holds
/// the keys, the challenge and the keystore. This protocol is the whole interface between them:
/// in production the network side runs in its own sandboxed process and each call crosses a
/// socketpair (`Separation`), in tests both sides share a process.
///
/// Nothing here signs, decrypts or derives on request: the key side builds and signs the whole
/// pkiMessage itself, and opens only a reply it verified as the answer to that message, so a
/// compromised network side cannot use the device's keys or the challenge as an oracle, nor
/// make it commit a certificate the server did not issue for this transaction.
public protocol KeyService {
    /// This transaction's pkiMessage (PKCSReq or RenewalReq, or CertPoll for the pending
    /// transaction), built and signed by the key side and encrypted to the recipient it picks
    /// from `certificates` after checking them against its own pin, with `cipher` and `digest`
    /// held to the same rules as the protocol code.
    mutating func request(certificates: [Certificate], cipher: ContentCipher, digest: DigestAlgorithm,
                          supportsRenewal: Bool) throws(AgentFailure) -> OutgoingRequest

    /// The server's reply to that request, as it came. The key side verifies it itself (signed by
    /// the pinned CA or an RA under it, for its own transaction and nonce) before any private
    /// key touches it, then acts on it: commits the issued certificate, keeps a PENDING
    /// transaction, or reports the FAILURE.
    mutating func deliver(reply: [UInt8]) throws(AgentFailure) -> TransactionEnd

    /// Something the exchange warns about (weak algorithms, a fallback taken); the key side logs
    /// each once.
    mutating func warn(_ warning: ProtocolWarning)
}

/// How a transaction's network side ended, when it did not fail. What it means is read from the
/// key side's own state (what it committed, what it noted), never from the network side's word.
public enum TransactionEnd: Equatable, Sendable {
    case issued, pending
}

/// What a transaction is asked to do.
public enum TransactionKind: Equatable, Sendable {
    /// PKCSReq with the challenge, signed by a self-signed certificate.
    case enroll
    /// RenewalReq signed by the identity in service.
    case renew
    /// CertPoll for a transaction the server answered PENDING.
    case poll
}

/// A transaction the server answered PENDING (RFC 8894 section 3.3.3), as the keystore keeps it.
public struct PendingRecord: Equatable, Sendable {
    public let transactionID: String
    public let messageType: MessageType
    public let subject: DistinguishedName
    /// The certificate that signed the request; its key receives the reply.
    public let signer: Certificate
    /// Whether that signer is the identity in service (a RenewalReq) rather than the
    /// transaction key's self-signed certificate.
    public let signedByCurrent: Bool
    /// When the server first answered PENDING.
    public let since: Int64

    public init(transactionID: String, messageType: MessageType, subject: DistinguishedName, signer: Certificate,
                signedByCurrent: Bool, since: Int64) {
        self.transactionID = transactionID
        self.messageType = messageType
        self.subject = subject
        self.signer = signer
        self.signedByCurrent = signedByCurrent
        self.since = since
    }
}

/// How a transaction ended, when it did not fail. Indirect, as `EnrollmentResult` (see there).
public indirect enum TransactionOutcome: Equatable {
    /// The certificate was issued, checked and committed by the key side.
    case issued(Certificate)
    case pending(PendingRecord)
}
