import Agent
import Crypto
import Keystore
import Platform

/// Opening the keystore and the published copies as the settings describe them.
extension CommandContext {
    func openKeystore(forWriting: Bool, random: RandomGenerator, keys: DeviceKeys) throws(CommandFailure) -> Keystore {
        var secret: SecretBytes? = nil
        if let path = settings.deviceSecret {
            do { secret = SecretBytes(try TrustedFile.read(path, limit: 4096, readers: .ownerOnly)) } catch {
                throw CommandFailure(.usage, "cannot read --device-secret: \(error)")
            }
            guard (secret?.count ?? 0) >= 16 else { throw CommandFailure(.usage, "--device-secret must hold at least 16 bytes") }
            if settings.keyOut != nil {
                logger.warn("--key-out publishes the private key in plain text, beside a keystore sealed with --device-secret",
                            [("path", settings.keyOut ?? "")])
            }
        }
        defer { secret?.wipe() }
        let keystore: Keystore
        do {
            keystore = try Keystore(path: settings.keystore, create: forWriting, forWriting: forWriting, deviceSecret: secret,
                                    random: random, heldKeys: keys.load)
        } catch {
            throw CommandFailure(.failure, "\(error)")
        }
        for warning in keystore.takeWarnings() { logger.warn("keystore", [("detail", warning)]) }
        return keystore
    }

    /// The key side for `enroll`, `renew` and `run`: the keystore (locked for writing), the
    /// challenge, and how new keys are made.
    func keyAuthority(challengeRequired: Bool, loadFailureIsFatal: Bool = true) throws(CommandFailure) -> KeyAuthority {
        let random = try randomGenerator()
        let keys = try deviceKeys(random: random)
        let keystore = try openKeystore(forWriting: true, random: random, keys: keys)
        let authority = KeyAuthority(keystore: keystore, configuration: settings.agentConfiguration, random: random, logger: logger,
                                     makeKey: keys.make)
        authority.challenge = try readChallenge(settings, logger: logger, required: challengeRequired)
        do { try authority.load() } catch {
            if loadFailureIsFatal { throw CommandFailure(.failure, "\(error)") }
            // The daemon reports it and retries with backoff (`Daemon.loadIdentity`).
        }
        // The same refusal as for --key-storage tpm, when the TPM is where the key in service lives.
        if settings.keyStorage == nil, authority.identity?.key.storage == .tpm, settings.keyOut != nil || settings.bundleOut != nil {
            throw CommandFailure(.usage, "the key in service lives in the TPM: there is nothing to publish with --key-out or --bundle-out")
        }
        for warning in keystore.takeWarnings() { logger.warn("keystore", [("detail", warning)]) }
        return authority
    }

    var publishedCopies: PublishedCopies {
        var copies = PublishedCopies()
        copies.certificatePath = settings.certOut
        copies.chainPath = settings.chainOut
        copies.keyPath = settings.keyOut
        copies.bundlePath = settings.bundleOut
        copies.publicMode = settings.publishMode
        copies.privateMode = settings.keyMode
        copies.owner = settings.publishOwner
        copies.group = settings.publishGroup
        return copies
    }

    /// Rewrites published copies that differ from the identity in service (after a crash, or a
    /// change of configuration), so other services never keep reading a stale or mismatched pair.
    func repairPublishedCopies(_ authority: KeyAuthority) {
        guard let identity = authority.identity else { return }
        let copies = publishedCopies
        guard !copies.isEmpty else { return }
        do {
            let written = try copies.publish(key: identity.key, certificate: identity.certificate, chain: identity.chain, force: false)
            for path in written { logger.warn("repaired a published copy", [("path", path)]) }
        } catch {
            logger.error("cannot repair published copies", [("detail", "\(error)")])
        }
    }
}
