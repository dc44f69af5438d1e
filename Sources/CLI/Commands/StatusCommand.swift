import Agent
import Crypto
import ASN1
import Encoding
import Keystore
import Platform
import X509

/// `status`: the identity in the keystore, for people or (`--json`) for machines, and with
/// `--check` as an exit status for watchdogs (`CheckStatus`). Read-only: it neither takes the lock
/// nor repairs anything.
func statusCommand(_ context: CommandContext) throws(CommandFailure) -> ExitStatus {
    // No keystore yet (first boot, before the first run): no identity, for a watchdog.
    if context.settings.check && !fileExists(context.settings.keystore) {
        StandardStream.output.writeLine("check=\(CheckStatus.noIdentity.name)")
        return CheckStatus.noIdentity.exitStatus
    }
    let random = try context.randomGenerator()
    let keystore = try context.openKeystore(forWriting: false, random: random, keys: try context.deviceKeys(random: random, usesTPM: false))
    let loaded: StoredIdentity?
    do { loaded = try keystore.load() } catch { throw CommandFailure(.failure, "\(error)") }
    for warning in keystore.takeWarnings() { context.logger.warn("keystore", [("detail", warning)]) }
    let now = wallClockSeconds()
    let state = keystore.readState()
    var fields: [(String, String)] = []
    let renewal = loaded.map { RenewalSchedule(threshold: context.settings.renewBefore).renewalTime(of: $0.certificate) }
    if let identity = loaded, let renewal {
        let certificate = identity.certificate
        fields = [
            ("subject", certificate.subject.rfc4514String),
            ("issuer", certificate.issuer.rfc4514String),
            ("serial", certificate.serialHex),
            ("not_before", DERTime.iso8601(certificate.notBefore)),
            ("not_after", DERTime.iso8601(certificate.notAfter)),
            ("valid", certificate.isValid(at: now) ? "yes" : "no"),
            ("next_renewal", DERTime.iso8601(renewal)),
            ("generation", identity.generation),
            ("key_type", identity.key.type.name),
            ("key_storage", identity.key.storage.name),
            ("ca_sha256", identity.metadata["ca_sha256"] ?? identity.chain.last.map { Hex.encode($0.sha256Fingerprint) } ?? ""),
        ]
    }
    // A request the server left PENDING, as the keystore keeps it (it survives restarts).
    if let pending = try? keystore.loadPending(), let transaction = pending.metadata["transaction_id"] {
        fields.append(("pending_transaction", transaction))
        if let since = pending.metadata["since"].flatMap({ Numbers.parse($0.utf8, limit: 4_102_444_800) }) {
            fields.append(("pending_since", DERTime.iso8601(Int64(since))))
        }
    }
    for key in ["last_attempt", "last_result", "last_error", "next_attempt", "challenge"] {
        if let value = state[key] { fields.append((key, value)) }
    }
    let check = CheckStatus.of(loaded, renewal: renewal, state: state, now: now)
    if context.settings.check { fields.append(("check", check.name)) }
    if context.settings.json {
        var text = "{"
        for (index, field) in fields.enumerated() {
            text += (index == 0 ? "" : ",") + "\n  " + QuotedString.quote(field.0, controls: .unicode) + ": "
                + QuotedString.quote(field.1, controls: .unicode)
        }
        StandardStream.output.writeLine(text + "\n}")
    } else {
        // Values come from certificates and servers: control characters are escaped, so a
        // terminal never receives an escape sequence from them.
        for (key, value) in fields { StandardStream.output.writeLine("\(key)=\(TerminalText.escaped(value))") }
    }
    if context.settings.check { return check.exitStatus }
    guard loaded != nil else {
        throw CommandFailure(.failure, "the keystore \(context.settings.keystore) holds no identity yet; run 'enroll' (or 'run')")
    }
    return .success
}

/// `status --check`: one exit status a watchdog (Monit, Nagios, a shell loop) acts on, the most
/// urgent condition first.
enum CheckStatus: Equatable {
    case valid, inRenewalWindow, lastAttemptFailed, expired, noIdentity

    /// `renewal` is the identity's renewal time (`RenewalSchedule.renewalTime(of:)`).
    static func of(_ identity: StoredIdentity?, renewal: Int64?, state: IdentityMetadata, now: Int64) -> CheckStatus {
        guard let identity, let renewal else { return .noIdentity }
        if !identity.certificate.isValid(at: now) { return .expired }
        if let result = state["last_result"], result == "failure" || result == "publish-failure" { return .lastAttemptFailed }
        return now >= renewal ? .inRenewalWindow : .valid
    }

    var name: String {
        switch self {
        case .valid: "valid"
        case .inRenewalWindow: "in-renewal-window"
        case .lastAttemptFailed: "last-attempt-failed"
        case .expired: "expired"
        case .noIdentity: "no-identity"
        }
    }

    var exitStatus: ExitStatus {
        switch self {
        case .valid: .success
        case .inRenewalWindow: .inRenewalWindow
        case .lastAttemptFailed: .lastAttemptFailed
        case .expired: .expired
        case .noIdentity: .noIdentity
        }
    }
}
