import ASN1
import Crypto
import Encoding
import Keystore
import Platform
import Protocol
import X509

/// One certificate transaction, from key generation to a committed, published identity: what
/// `enroll`, `renew` and the daemon all do.
///
/// Order matters for "nothing lost": the reply is fully verified (signature, pin, nonce,
/// transaction, our key) before anything is written; the keystore verifies again what it staged
/// before the commit; published copies and the hook come only after the commit.
public enum CertificateTransaction {
    public enum Kind: Equatable {
        /// PKCSReq with the challenge, signed by a self-signed certificate.
        case enroll
        /// RenewalReq signed by the identity in service.
        case renew
    }

    /// `existing` is the identity in service, as the caller loaded it from `keystore` (nil on
    /// first boot); the caller already holds it, so it is not read and parsed again here.
    public static func run<Host: AgentHost>(_ kind: Kind, existing: StoredIdentity?, host: inout Host, keystore: Keystore,
                                            configuration: AgentConfiguration,
                                            random: RandomGenerator) throws(AgentFailure) -> StoredIdentity {
        let logger = host.logger
        let totalWatch = Stopwatch()
        if kind == .renew && existing == nil {
            throw AgentFailure(.failed, "the keystore \(keystore.path) holds no identity; run 'enroll' first")
        }
        guard let subject = configuration.subject ?? existing?.certificate.subject else {
            throw AgentFailure(.configuration, "enrollment needs --subject")
        }
        let challenge = try host.readChallenge()
        defer { challenge?.wipe() }
        if kind == .enroll && challenge == nil {
            logger.warn("enrolling without a challenge password", [("hint", "--challenge-file or SCEP_CHALLENGE")])
        }

        var client = try host.makeClient()
        let now = host.now()
        var enrollment: Enrollment
        do {
            let capabilities = try client.capabilities()
            let ca = try client.caCertificates(pin: configuration.pin, raPins: configuration.raPins, now: now)
            for refused in ca.refused {
                logger.warn("ignored a certificate from the server", [("detail", "\(refused.error)")])
            }
            enrollment = try Enrollment(capabilities: capabilities, ca: ca, allowWeakCrypto: configuration.allowWeakCrypto,
                                        authenticatedServer: client.transport.authenticatesServer)
        } catch {
            throw AgentFailure(error)
        }
        logger.debug("algorithms", [("cipher", enrollment.cipher.name), ("digest", enrollment.digest.name),
                                    ("recipient", enrollment.recipient.subject.rfc4514String)])

        let key: PrivateKey
        let keygenWatch = Stopwatch()
        if kind == .renew && configuration.reuseKey, let existing {
            logger.warn("renewing with the current key (--reuse-key)")
            key = existing.key
        } else {
            let type = configuration.keyType ?? existing?.key.type ?? .defaultType
            do { key = try SoftwareKey.generate(type, random: random) } catch {
                throw AgentFailure(.failed, "\(error)")
            }
        }
        let renewal = kind == .renew ? existing.map { Identity(key: $0.key, certificate: $0.certificate) } : nil
        let keygenTime = keygenWatch.elapsedNanoseconds
        let request = EnrollmentRequest(subject: subject, key: key, challenge: challenge, extensions: configuration.extensions,
                                        renewing: renewal)
        let exchangeWatch = Stopwatch()
        let issued = try exchange(request, enrollment: &enrollment, client: &client, host: &host, configuration: configuration,
                                  random: random)
        let exchangeTime = exchangeWatch.elapsedNanoseconds
        for warning in enrollment.warnings { logger.warn("weak or fallback", [("detail", "\(warning)")]) }

        let committedAt = host.now()
        if !issued.certificate.isValid(at: committedAt) {
            logger.warn("the issued certificate is not valid at the local time; check the clock",
                        [("not_before", DERTime.iso8601(issued.certificate.notBefore)), ("now", DERTime.iso8601(committedAt))])
        }
        let metadata = IdentityMetadata([
            ("subject", issued.certificate.subject.rfc4514String), ("issuer", issued.certificate.issuer.rfc4514String),
            ("serial", issued.certificate.serialHex), ("not_before", DERTime.iso8601(issued.certificate.notBefore)),
            ("not_after", DERTime.iso8601(issued.certificate.notAfter)), ("committed_at", DERTime.iso8601(committedAt)),
            ("ca_sha256", Hex.encode(enrollment.ca.anchor.sha256Fingerprint)), ("via", kind == .renew ? "renew" : "enroll"),
        ])
        let committed: StoredIdentity
        let commitWatch = Stopwatch()
        do {
            committed = try keystore.commit(key: key, certificate: issued.certificate, chain: issued.chain,
                                            anchor: enrollment.ca.anchor, metadata: metadata, now: committedAt)
        } catch {
            throw AgentFailure(.failed, "\(error)")
        }
        // Where the time went, for slow boards and for `make bench`; the HTTP lines say how much
        // of the exchange was spent waiting on the network and the server.
        logger.debug("timings", [("keygen_ms", Stopwatch.milliseconds(keygenTime)),
                                 ("exchange_ms", Stopwatch.milliseconds(exchangeTime)),
                                 ("commit_ms", commitWatch.milliseconds), ("total_ms", totalWatch.milliseconds)])
        logger.info(kind == .renew ? "renewed" : "enrolled",
                    [("subject", issued.certificate.subject.rfc4514String), ("serial", issued.certificate.serialHex),
                     ("not_after", DERTime.iso8601(issued.certificate.notAfter)),
                     ("new_key", kind == .renew && configuration.reuseKey ? "no" : "yes")])
        if kind == .enroll && configuration.consumeChallenge && challenge != nil {
            host.consumeChallenge()
            logger.info("challenge consumed", [("detail", "the factory challenge is no longer needed and was removed")])
        }
        try host.publish(committed)
        if let hook = configuration.hook { runHook(hook, committed, keystore: keystore, host: host) }
        return committed
    }

    /// Sends the request, then CertPoll while the server says PENDING, up to the poll timeout.
    static func exchange<Host: AgentHost>(_ request: EnrollmentRequest, enrollment: inout Enrollment,
                                          client: inout SCEPClient<Host.Transport>, host: inout Host,
                                          configuration: AgentConfiguration,
                                          random: RandomGenerator) throws(AgentFailure) -> IssuedCertificate {
        var result: EnrollmentResult
        do { result = try enrollment.start(request, client: &client, now: host.now(), random: random) } catch {
            for warning in enrollment.warnings { host.logger.warn("weak or fallback", [("detail", "\(warning)")]) }
            throw AgentFailure(error)
        }
        let deadline = host.now() + configuration.pollTimeout
        while true {
            switch result {
            case .issued(let issued):
                return issued
            case .pending(let pending):
                guard host.now() < deadline else {
                    throw AgentFailure(.pending, "the server has not issued the certificate yet (PENDING, transaction \(pending.transactionID)); polling timed out")
                }
                host.logger.info("pending", [("transaction", pending.transactionID), ("next_poll_in", "\(configuration.pollInterval)s")])
                if host.wait(until: min(host.now() + configuration.pollInterval, deadline)) == .terminate {
                    throw AgentFailure(.interrupted, "stopped while waiting for a PENDING request")
                }
                do { result = try enrollment.poll(pending, client: &client, now: host.now(), random: random) } catch {
                    throw AgentFailure(error)
                }
            }
        }
    }

    /// The hook runs after each committed certificate; a failing hook is logged, never fatal.
    static func runHook<Host: AgentHost>(_ command: String, _ identity: StoredIdentity, keystore: Keystore, host: Host) {
        let generation = keystore.path + "/" + identity.generation
        let environment = [
            ("SCEP_AGENT_EVENT", "certificate-committed"),
            ("SCEP_AGENT_CERT", generation + "/cert.pem"),
            ("SCEP_AGENT_CHAIN", generation + "/chain.pem"),
            ("SCEP_AGENT_KEYSTORE", keystore.path),
            ("SCEP_AGENT_SUBJECT", identity.certificate.subject.rfc4514String),
            ("SCEP_AGENT_SERIAL", identity.certificate.serialHex),
            ("SCEP_AGENT_NOT_AFTER", DERTime.iso8601(identity.certificate.notAfter)),
        ]
        if let status = host.runHook(command, environment: environment), status == 0 {
            host.logger.info("hook ran", [("command", command)])
        } else {
            host.logger.warn("hook failed; the certificate is committed all the same", [("command", command)])
        }
    }
}
