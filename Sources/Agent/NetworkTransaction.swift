import ASN1
import CMS
import Crypto
import Platform
import Protocol
import X509

/// The network side of one certificate transaction: everything that reads what the server
/// sends, and nothing that holds a key. It runs in the sandboxed network process, asking the
/// key side (`KeyService`) for the request to send, to open the reply, and to commit.
///
/// Order matters for "nothing lost": the reply is fully verified (signature, signer, pin, nonce,
/// transaction, our key) before the key side is asked to commit, and the key side checks the
/// certificate again before it writes anything.
public enum NetworkTransaction {
    public static func run<Transport: SCEPTransport, Keys: KeyService>(
        client: inout SCEPClient<Transport>, keys: inout Keys, configuration: AgentConfiguration, now: Int64, logger: Logger
    ) throws(AgentFailure) -> TransactionEnd {
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

        let request = try keys.request(certificates: enrollment.ca.all, cipher: enrollment.cipher, digest: enrollment.digest,
                                       supportsRenewal: enrollment.supportsRenewal)
        let reply: CertRep
        do throws(SCEPError) { reply = try enrollment.send(request, client: &client) } catch { throw AgentFailure(error) }
        switch reply.outcome {
        case .pending:
            try keys.notePending(transactionID: request.transactionID)
            return .pending
        case .failure(let info, let text):
            throw AgentFailure(SCEPError.serverFailure(info, text: text))
        case .success(let envelope):
            let opened = try keys.openReply(envelope)
            let issued: IssuedCertificate
            do throws(SCEPError) { issued = try enrollment.issued(from: opened, expectedPublicKey: request.expectedPublicKey) } catch {
                throw AgentFailure(error)
            }
            try keys.commit(certificate: issued.certificate, chain: issued.chain)
            return .issued
        }
    }
}
