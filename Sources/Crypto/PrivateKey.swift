/// The private half of a device key, wherever it is held: by mbedTLS in this process
/// (`SoftwareKey`), by the key process on the other end of a socket, or inside a TPM.
///
/// This small API is the seam between the code that builds and reads SCEP messages and the code
/// that holds keys: X.509, CMS and the protocol only ever sign a digest, decrypt a content key or
/// agree on a shared secret through it, so each holder is one subclass, and none of them hands
/// out the key itself. The base class refuses everything; a holder overrides what its keys do.
open class PrivateKey {
    public let type: KeyType
    /// SubjectPublicKeyInfo DER of the public half.
    public let publicKeyInfo: [UInt8]

    public init(type: KeyType, publicKeyInfo: [UInt8]) {
        self.type = type
        self.publicKeyInfo = publicKeyInfo
    }

    /// A signature over `digest`: PKCS#1 v1.5 for RSA, a DER ECDSA-Sig-Value for EC.
    open func sign(digest: [UInt8], algorithm: DigestAlgorithm) throws(CryptoError) -> [UInt8] {
        throw CryptoError(.sign)
    }

    /// RSAES-PKCS1-v1_5 decryption of a content-encryption key (CMS key transport). RSA only.
    open func decrypt(_ encryptedKey: [UInt8]) throws(CryptoError) -> SecretBytes {
        throw CryptoError(.keyType(expected: "RSA"))
    }

    /// The ECDH shared secret Z (the x-coordinate of d·P) with `peerPoint`, an uncompressed point
    /// on this key's curve (CMS key agreement). EC only.
    open func agree(peerPoint: [UInt8]) throws(CryptoError) -> SecretBytes {
        throw CryptoError(.keyType(expected: "EC"))
    }

    /// For a key its holder keeps (a TPM's), what the holder loads it again from: a format
    /// name and a blob that is useless without the holder. Nil for keys that can be exported.
    open var heldForm: (format: String, blob: [UInt8])? { nil }

    /// Where the key lives.
    open var storage: KeyStorage { .file }

    /// Whether `publicKeyInfo` (SubjectPublicKeyInfo DER) is this key's public half.
    public func matches(publicKeyInfo other: [UInt8]) -> Bool { other == publicKeyInfo }
}
