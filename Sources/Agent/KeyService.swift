import ASN1
import Crypto
import Protocol
import X509

/// What the network side of a transaction may ask of the key side, and all it may ask.
///
/// The network side parses everything the server sends (HTTP, TLS, DER, CMS); the key side holds
/// the keys, the challenge and the keystore. This protocol is the whole interface between them:
/// in production the network side runs in its own sandboxed process and each call crosses a
/// socketpair (`Separation`), in tests both sides share a process. Keys come back as
/// `PrivateKey`s whose operations the key side performs; the challenge comes back as a
/// `PasswordSecret` it derives keys from; neither is ever handed over.
public protocol KeyService {
    /// This transaction's key: a new one of the configured type, the one in service with
    /// --reuse-key, or the pending transaction's.
    mutating func transactionKey() throws(AgentFailure) -> PrivateKey

    /// The key of the identity in service: it signs a RenewalReq.
    mutating func currentKey() throws(AgentFailure) -> PrivateKey

    /// The PKCS#10 request for the transaction key, with the challenge, enveloped to the
    /// recipient the key side picks from `certificates` once it has checked them against its
    /// own pin.
    mutating func sealedRequest(certificates: [Certificate], cipher: ContentCipher,
                                digest: DigestAlgorithm) throws(AgentFailure) -> [UInt8]

    /// The challenge as a key-derivation input, for replies encrypted to it; nil when there is
    /// no challenge.
    mutating func password() -> PasswordSecret?

    /// The issued certificate: checked again by the key side (its key, its path to the pin),
    /// committed to the keystore and published.
    mutating func commit(certificate: Certificate, chain: [Certificate]) throws(AgentFailure)

    /// A PENDING transaction, kept so that a restart resumes polling it.
    mutating func notePending(_ record: PendingRecord) throws(AgentFailure)

    /// Something the exchange warns about (weak algorithms, an unmarked RA); the key side logs
    /// each once.
    mutating func warn(_ warning: ProtocolWarning)
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
