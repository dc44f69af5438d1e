import Crypto
import Platform

/// The factory challenge password, from `--challenge-file` or `SCEP_CHALLENGE`. Read only when
/// needed, held as `SecretBytes`, never logged; a trailing newline is dropped.
func readChallenge(_ settings: Settings) throws(CommandFailure) -> SecretBytes? {
    if let path = settings.challengeFile {
        let bytes: [UInt8]
        do { bytes = try readFile(path, limit: 4096) } catch {
            throw CommandFailure(.usage, "cannot read the challenge file: \(error)")
        }
        let secret = SecretBytes(bytes)
        secret.trimTrailingNewlines()
        guard secret.count > 0 else { throw CommandFailure(.usage, "the challenge file \(path) is empty") }
        return secret
    }
    if let bytes = takeEnvironmentSecret("SCEP_CHALLENGE") {
        let secret = SecretBytes(bytes)
        guard secret.count > 0 else { throw CommandFailure(.usage, "SCEP_CHALLENGE is empty") }
        return secret
    }
    return nil
}
