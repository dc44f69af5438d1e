/// The challenge password as a key-derivation input, wherever it is held: in this process
/// (`LocalPassword`), or by the key process, which derives keys from it for the network process
/// and never hands the password itself over.
open class PasswordSecret {
    public init() {}

    /// PBKDF2 from the password (RFC 8018), for a password recipient's key-encryption key.
    open func deriveKey(salt: [UInt8], iterations: Int, keyLength: Int, digest: DigestAlgorithm) throws(CryptoError) -> SecretBytes {
        throw CryptoError(.keyDerivation)
    }
}

/// A password held in this process.
public final class LocalPassword: PasswordSecret {
    let secret: SecretBytes

    public init(_ secret: SecretBytes) {
        self.secret = secret
        super.init()
    }

    public override func deriveKey(salt: [UInt8], iterations: Int, keyLength: Int,
                                   digest: DigestAlgorithm) throws(CryptoError) -> SecretBytes {
        try KeyDerivation.pbkdf2(password: secret, salt: salt, iterations: iterations, keyLength: keyLength, digest: digest)
    }
}
