import Crypto
import Keystore
import Platform
#if !SCEP_NO_TPM
import TPM
#endif

/// How the key side makes new device keys and loads the keystore's: in this process (mbedTLS),
/// or inside the TPM the settings name.
struct DeviceKeys {
    let make: (KeyType, KeyStorage) throws(CryptoError) -> PrivateKey
    /// Loads a key its holder keeps (`key.tpm2`).
    let load: Keystore.HeldKeyLoader
}

extension CommandContext {
    /// The TPM is set up whether or not new keys go into it: an identity made with
    /// `--key-storage tpm` stays in the TPM after the option is dropped, and loads through it.
    /// Nothing touches the device until a TPM key is made or used. `status` only reads key files,
    /// so it passes `usesTPM: false` and never needs the owner authorization's file.
    func deviceKeys(random: RandomGenerator, usesTPM: Bool = true) throws(CommandFailure) -> DeviceKeys {
#if SCEP_NO_TPM
        _ = usesTPM
        // The tiny build leaves the TPM code out to stay small.
        let missing = CryptoError(.keyHolder("this build has no TPM support (the tiny build); use a full build for --key-storage tpm"))
        return DeviceKeys(
            make: { (type, storage) throws(CryptoError) -> PrivateKey in
                guard storage == .file else { throw missing }
                return try SoftwareKey.generate(type, random: random)
            },
            load: { (_, _) throws(CryptoError) -> PrivateKey in throw missing })
#else
        guard let address = TPMChannel.Address(settings.tpmDevice) else {
            throw CommandFailure(.usage, "--tpm-device: not a device path or tcp:HOST:PORT")
        }
        var ownerAuth: SecretBytes? = nil
        if usesTPM, let path = settings.tpmOwnerAuthFile {
            // The raw bytes of the authorization value (a TPM takes at most 64), then a newline.
            let secret: SecretBytes
            do { secret = SecretBytes(try TrustedFile.read(path, limit: 66, readers: .ownerOnly)) } catch {
                throw CommandFailure(.usage, "cannot read --tpm-owner-auth-file: \(error)")
            }
            secret.trimTrailingNewlines()
            guard secret.count <= 64 else {
                secret.wipe()
                throw CommandFailure(.usage, "--tpm-owner-auth-file: an authorization value is at most 64 bytes")
            }
            ownerAuth = secret
        }
        let tpm = TPM(address: address, ownerAuth: ownerAuth)
        return DeviceKeys(
            make: { (type, storage) throws(CryptoError) -> PrivateKey in
                guard storage == .tpm else { return try SoftwareKey.generate(type, random: random) }
                do throws(TPMError) { return try tpm.generate(type) } catch { throw CryptoError(.keyHolder(error.description)) }
            },
            load: { (format, blob) throws(CryptoError) -> PrivateKey in
                guard format == "tpm2" else { throw CryptoError(.keyHolder("a key held by an unknown device (\(format))")) }
                do throws(TPMError) { return try tpm.load(keyFile: blob) } catch { throw CryptoError(.keyHolder(error.description)) }
            })
#endif
    }
}
