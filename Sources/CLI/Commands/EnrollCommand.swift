import ASN1
import Crypto
import Encoding
import Keystore
import Platform
import Protocol
import X509

/// `enroll` and `renew`: one transaction from key generation to a committed identity.
///
/// Order matters for "nothing lost": the reply is fully verified (signature, pin, nonce,
/// transaction, our key) before anything is written, and the identity is committed as one atomic
/// file, so a failure anywhere leaves the previous identity in service.
func enrollCommand(_ context: CommandContext, renewing: Bool) throws(CommandFailure) {
    let settings = context.settings
    let logger = context.logger
    guard let pin = settings.caFingerprint else { throw CommandFailure(.usage, "needs --ca-fingerprint") }
    let keystore = try context.openKeystore(forWriting: true)
    let existing: StoredIdentity?
    do { existing = try keystore.load() } catch { throw CommandFailure(.failure, "\(error)") }
    for warning in keystore.report.warnings { logger.warn("keystore", [("detail", warning)]) }
    if let existing { context.repairPublishedCopies(existing) }
    if renewing && existing == nil {
        throw CommandFailure(.failure, "renew: the keystore \(settings.keystore) holds no identity; run 'enroll' first")
    }
    guard let subject = settings.subject ?? existing?.certificate.subject else {
        throw CommandFailure(.usage, "enroll needs --subject")
    }
    let challenge = try readChallenge(settings)
    defer { challenge?.wipe() }
    if !renewing && challenge == nil {
        logger.warn("enrolling without a challenge password", [("hint", "--challenge-file or SCEP_CHALLENGE")])
    }

    let random = try context.randomGenerator()
    var client = try context.client()
    let capabilities: Capabilities
    let ca: CACertificates
    do {
        capabilities = try client.capabilities()
        ca = try client.caCertificates(pin: pin, now: wallClockSeconds())
    } catch {
        throw CommandFailure(error)
    }
    var enrollment: Enrollment
    do { enrollment = try Enrollment(capabilities: capabilities, ca: ca, allowWeakCrypto: settings.allowWeakCrypto) } catch {
        throw CommandFailure(error)
    }
    logger.debug("algorithms", [("cipher", enrollment.cipher.name), ("digest", enrollment.digest.name),
                                ("recipient", enrollment.ca.encryptionRecipient.subject.rfc4514String)])

    let key: RSAPrivateKey
    if renewing && settings.reuseKey, let existing {
        logger.warn("renewing with the current key (--reuse-key)")
        key = existing.key
    } else {
        do { key = try RSAPrivateKey.generate(bits: settings.keyBits, random: random) } catch { throw CommandFailure(.failure, "\(error)") }
    }
    let renewal = renewing ? existing.map { Identity(key: $0.key, certificate: $0.certificate) } : nil
    let request = EnrollmentRequest(subject: subject, key: key, challenge: challenge, extensions: settings.requestExtensions,
                                    renewing: renewal)

    let issued = try transact(request, enrollment: &enrollment, client: &client, context: context, random: random)
    context.log(warnings: enrollment.warnings)

    let now = wallClockSeconds()
    if !issued.certificate.isValid(at: now) {
        logger.warn("the issued certificate is not valid at the local time; check the clock",
                    [("not_before", DERTime.iso8601(issued.certificate.notBefore)), ("now", DERTime.iso8601(now))])
    }
    let metadata = IdentityMetadata([
        ("subject", issued.certificate.subject.rfc4514String), ("issuer", issued.certificate.issuer.rfc4514String),
        ("serial", issued.certificate.serialHex), ("not_before", DERTime.iso8601(issued.certificate.notBefore)),
        ("not_after", DERTime.iso8601(issued.certificate.notAfter)), ("committed_at", DERTime.iso8601(now)),
        ("ca_sha256", Hex.encode(enrollment.ca.anchor.sha256Fingerprint)), ("via", renewing ? "renew" : "enroll"),
    ])
    do {
        try keystore.commit(key: key, certificate: issued.certificate, chain: issued.chain, anchor: enrollment.ca.anchor,
                            metadata: metadata, random: random, now: now)
    } catch {
        throw CommandFailure(.failure, "\(error)")
    }
    logger.info(renewing ? "renewed" : "enrolled",
                [("subject", issued.certificate.subject.rfc4514String), ("serial", issued.certificate.serialHex),
                 ("not_after", DERTime.iso8601(issued.certificate.notAfter)), ("new_key", renewing && settings.reuseKey ? "no" : "yes")])
    try publish(key: key, issued: issued, context: context)
}

/// Sends the request, then polls while the server says PENDING, up to --poll-timeout.
private func transact(_ request: EnrollmentRequest, enrollment: inout Enrollment, client: inout SCEPClient<HTTPTransport>,
                      context: CommandContext, random: RandomGenerator) throws(CommandFailure) -> IssuedCertificate {
    let settings = context.settings
    var result: EnrollmentResult
    do { result = try enrollment.start(request, client: &client, now: wallClockSeconds(), random: random) } catch {
        context.log(warnings: enrollment.warnings)
        throw CommandFailure(error)
    }
    let deadline = monotonicMilliseconds() + settings.pollTimeout * 1000
    while true {
        switch result {
        case .issued(let issued):
            return issued
        case .pending(let pending):
            let remaining = deadline - monotonicMilliseconds()
            guard remaining > 0 else {
                throw CommandFailure(.pending, "the server has not issued the certificate yet (PENDING, transaction \(pending.transactionID)); polling timed out after \(DurationText.format(settings.pollTimeout))")
            }
            context.logger.info("pending", [("transaction", pending.transactionID), ("next_poll", DurationText.format(settings.pollInterval))])
            sleepMilliseconds(min(settings.pollInterval * 1000, remaining))
            do { result = try enrollment.poll(pending, client: &client, now: wallClockSeconds(), random: random) } catch {
                throw CommandFailure(error)
            }
        }
    }
}

/// Writes the published copies other services read, after the commit.
private func publish(key: RSAPrivateKey, issued: IssuedCertificate, context: CommandContext) throws(CommandFailure) {
    do {
        try context.publishedCopies.publish(key: key, certificate: issued.certificate, chain: issued.chain)
    } catch {
        throw CommandFailure(.failure, "the identity is committed, but a published copy failed: \(error)")
    }
}
