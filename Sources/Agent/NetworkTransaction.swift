import ASN1
import Crypto
import Platform
import Protocol
import X509

/// The network side of one certificate transaction: everything that reads what the server
/// sends, and nothing that holds a key. It runs in the sandboxed network process, asking the
/// key side (`KeyService`) for what only the key side can do.
///
/// Order matters for "nothing lost": the reply is fully verified (signature, signer, pin, nonce,
/// transaction, our key) before the key side is asked to commit, and the key side checks the
/// certificate again before it writes anything.
public enum NetworkTransaction {
    public static func run<Transport: SCEPTransport, Keys: KeyService>(
        _ kind: TransactionKind, current: Certificate?, pending: PendingRecord?, client: inout SCEPClient<Transport>,
        keys: inout Keys, configuration: AgentConfiguration, now: Int64, random: RandomGenerator, logger: Logger
    ) throws(AgentFailure) -> TransactionOutcome {
        var enrollment: Enrollment
        do {
            let capabilities = try client.capabilities()
            let ca = try client.caCertificates(pin: configuration.pin, raPins: configuration.raPins, now: now)
            for refused in ca.refused { logger.warn("ignored a certificate from the server", [("detail", "\(refused.error)")]) }
            enrollment = try Enrollment(capabilities: capabilities, ca: ca, allowWeakCrypto: configuration.allowWeakCrypto,
                                        authenticatedServer: client.transport.authenticatesServer)
        } catch {
            throw AgentFailure(error)
        }
        logger.debug("algorithms", [("cipher", enrollment.cipher.name), ("digest", enrollment.digest.name),
                                    ("recipient", enrollment.recipient.subject.rfc4514String)])
        defer { for warning in enrollment.warnings { keys.warn(warning) } }

        let result: EnrollmentResult
        switch kind {
        case .enroll, .renew:
            guard let subject = configuration.subject ?? current?.subject else {
                throw AgentFailure(.configuration, "enrollment needs --subject")
            }
            if kind == .renew && current == nil { throw AgentFailure(.failed, "there is no identity to renew; run 'enroll' first") }
            let key = try keys.transactionKey()
            let envelope = try keys.sealedRequest(certificates: enrollment.ca.all, cipher: enrollment.cipher, digest: enrollment.digest)
            var renewing: Identity? = nil
            if kind == .renew, let current { renewing = Identity(key: try keys.currentKey(), certificate: current) }
            let request = EnrollmentRequest(subject: subject, key: key, renewing: renewing, password: keys.password())
            do throws(SCEPError) {
                result = try enrollment.start(request, envelope: envelope, client: &client, now: now, random: random)
            } catch {
                throw AgentFailure(error)
            }
        case .poll:
            guard let pending else { throw AgentFailure(.failed, "there is no pending transaction to poll") }
            let key = try keys.transactionKey()
            let signerKey = pending.signedByCurrent ? try keys.currentKey() : key
            let transaction = PendingTransaction(transactionID: pending.transactionID, messageType: pending.messageType,
                                                 subject: pending.subject, signer: Identity(key: signerKey, certificate: pending.signer),
                                                 expectedPublicKey: key.publicKeyInfo, password: keys.password())
            do throws(SCEPError) { result = try enrollment.poll(transaction, client: &client, now: now, random: random) } catch {
                throw AgentFailure(error)
            }
        }

        switch result {
        case .issued(let issued):
            try keys.commit(certificate: issued.certificate, chain: issued.chain)
            return .issued(issued.certificate)
        case .pending(let transaction):
            let record = PendingRecord(transactionID: transaction.transactionID, messageType: transaction.messageType,
                                       subject: transaction.subject, signer: transaction.signer.certificate,
                                       signedByCurrent: pending?.signedByCurrent ?? (kind == .renew),
                                       since: pending?.since ?? now)
            try keys.notePending(record)
            return .pending(record)
        }
    }
}
