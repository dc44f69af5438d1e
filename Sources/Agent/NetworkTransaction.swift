import ASN1
import CMS
import Crypto
import Platform
import Protocol
import X509

/// The network side of one certificate transaction: it speaks HTTP (and TLS) to the server,
/// reads the capabilities and the CA certificates, and holds no key. It runs in the sandboxed
/// network process, asking the key side (`KeyService`) for the request to send and handing it
/// the reply, which the key side verifies (signature, signer, pin, nonce, transaction, our key)
/// before it opens or commits anything.
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
        let reply: [UInt8]
        do throws(SCEPError) { reply = try client.pkiOperation(request.message, capabilities: enrollment.capabilities) } catch {
            throw AgentFailure(error)
        }
        // The key side verifies the reply itself and acts on it: this side only carries it.
        return try keys.deliver(reply: reply)
    }
}
