import Crypto
import Platform

/// The factory challenge password, from `--challenge-file` or `SCEP_CHALLENGE`, read once at
/// start, held as `SecretBytes`, never logged; a trailing newline is dropped. The file must be a
/// regular file that only its owner (root or the agent's user) may read or write (`TrustedFile`).
///
/// A missing file is an error only when `required` (a first enrollment): a daemon restarted after
/// --consume-challenge removed it, or a renewal, goes on without.
func readChallenge(_ settings: Settings, logger: Logger, required: Bool) throws(CommandFailure) -> SecretBytes? {
    // Taken from the environment even when a file is configured, so it never lingers there.
    let fromEnvironment = takeEnvironmentSecret("SCEP_CHALLENGE").map(SecretBytes.init)
    if let path = settings.challengeFile {
        fromEnvironment?.wipe()
        let bytes: [UInt8]
        do { bytes = try TrustedFile.read(path, limit: 4096, readers: .ownerOnly) } catch {
            if error.isNotFound && !required {
                logger.debug("no challenge file", [("path", path)])
                return nil
            }
            throw CommandFailure(.usage, "cannot read the challenge file: \(error)")
        }
        let secret = SecretBytes(bytes)
        secret.trimTrailingNewlines()
        guard secret.count > 0 else { throw CommandFailure(.usage, "the challenge file \(path) is empty") }
        return secret
    }
    if let secret = fromEnvironment {
        guard secret.count > 0 else { throw CommandFailure(.usage, "SCEP_CHALLENGE is empty") }
        return secret
    }
    return nil
}
