import ASN1
import Encoding
import HTTP
import Platform
import Protocol
import Separation
import X509

/// `getca`: GetCACert, checked against the pin; prints each certificate's subject and SHA-256
/// fingerprint, and with `--out` writes the trusted ones as PEM.
func getCACommand(_ context: CommandContext) throws(CommandFailure) {
    guard let pin = context.settings.caFingerprint else { throw CommandFailure(.usage, "getca needs --ca-fingerprint") }
    guard case .certificates(let ders) = try context.runKeyless(.getca) else {
        throw CommandFailure(.failure, "the network process answered with something else than certificates")
    }
    let now = wallClockSeconds()
    var certificates: [Certificate] = []
    for der in ders {
        do { certificates.append(try Certificate(derEncoded: der)) } catch {
            throw CommandFailure(.failure, "the server sent a malformed certificate: \(error)")
        }
    }
    let ca: CACertificates
    do {
        ca = try CACertificates(certificates: certificates, pin: pin, raPins: context.settings.raFingerprints, now: now)
    } catch {
        for certificate in certificates { printCertificate(certificate, role: "untrusted") }
        throw CommandFailure(error)
    }
    let recipient = try? ca.encryptionRecipient()
    printCertificate(ca.anchor, role: ca.anchor == recipient ? "pinned CA (encryption)" : "pinned CA")
    for certificate in ca.others {
        let kind = certificate.isCA ? "intermediate CA" : (certificate.isRegistrationAuthority ? "RA" : "end entity")
        printCertificate(certificate, role: certificate == recipient ? kind + " (encryption)" : kind)
    }
    for refused in ca.refused {
        printCertificate(refused.certificate, role: "refused")
        context.logger.warn("ignored a certificate from the server", [("detail", "\(refused.error)")])
    }
    if let out = context.settings.out {
        let pem = ca.all.map { PEM.encode($0.der, label: "CERTIFICATE") }.joined()
        do { try writeFileAtomically(out, Array(pem.utf8), permissions: 0o644) } catch {
            throw CommandFailure(.failure, "cannot write --out: \(error)")
        }
    }
}

private func printCertificate(_ certificate: Certificate, role: String) {
    StandardStream.output.writeLine("subject=\(TerminalText.escaped(certificate.subject.rfc4514String))")
    StandardStream.output.writeLine("  role=\(role) not_after=\(DERTime.iso8601(certificate.notAfter))")
    StandardStream.output.writeLine("  sha256=\(FingerprintText.format(certificate.sha256Fingerprint))")
}
