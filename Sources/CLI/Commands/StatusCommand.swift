import Agent
import ASN1
import Encoding
import Keystore
import Platform
import X509

/// `status`: the identity in the keystore, for people or (`--json`) for machines. Read-only: it
/// neither takes the lock nor repairs anything.
func statusCommand(_ context: CommandContext) throws(CommandFailure) {
    let keystore = try context.openKeystore(forWriting: false, random: try context.randomGenerator())
    let loaded: StoredIdentity?
    do { loaded = try keystore.load() } catch { throw CommandFailure(.failure, "\(error)") }
    for warning in keystore.takeWarnings() { context.logger.warn("keystore", [("detail", warning)]) }
    guard let identity = loaded else {
        throw CommandFailure(.failure, "the keystore \(context.settings.keystore) holds no identity yet; run 'enroll' (or 'run')")
    }
    let certificate = identity.certificate
    let schedule = RenewalSchedule(threshold: context.settings.renewBefore)
    let renewal = schedule.jitteredTime(notBefore: certificate.notBefore, notAfter: certificate.notAfter,
                                        seed: RenewalSchedule.seed(certificate.publicKeyInfo))
    let now = wallClockSeconds()
    let state = keystore.readState()
    var fields: [(String, String)] = [
        ("subject", certificate.subject.rfc4514String),
        ("issuer", certificate.issuer.rfc4514String),
        ("serial", certificate.serialHex),
        ("not_before", DERTime.iso8601(certificate.notBefore)),
        ("not_after", DERTime.iso8601(certificate.notAfter)),
        ("valid", certificate.isValid(at: now) ? "yes" : "no"),
        ("next_renewal", DERTime.iso8601(renewal)),
        ("generation", identity.generation),
        ("ca_sha256", identity.metadata["ca_sha256"] ?? identity.chain.last.map { Hex.encode($0.sha256Fingerprint) } ?? ""),
    ]
    for key in ["last_attempt", "last_result", "last_error", "next_attempt"] {
        if let value = state[key] { fields.append((key, value)) }
    }
    if context.settings.json {
        var text = "{"
        for (index, field) in fields.enumerated() {
            text += (index == 0 ? "" : ",") + "\n  " + QuotedString.quote(field.0, controls: .unicode) + ": "
                + QuotedString.quote(field.1, controls: .unicode)
        }
        StandardStream.output.writeLine(text + "\n}")
    } else {
        for (key, value) in fields { StandardStream.output.writeLine("\(key)=\(value)") }
    }
}
