import CMbedTLS

/// AES-256-GCM sealing for data at rest (the keystore's private key): nonce, ciphertext and tag
/// in one buffer, with a fixed label so a sealed key cannot be mistaken for anything else.
public enum SealedBox {
    static let magic: [UInt8] = Array("SCEP-AGENT-AES256GCM-1\n".utf8)
    static let nonceSize = 12
    static let tagSize = 16

    /// A 256-bit key from a device secret: SHA-256 over a domain label and the secret. The secret
    /// is expected to be high-entropy (a per-device random value), so no stretching is needed.
    public static func deriveKey(fromDeviceSecret secret: SecretBytes) -> SecretBytes {
        // Hashed in two parts: a joined copy of the secret would linger in freed memory.
        let digest = IncrementalDigest(.sha256)
        digest.update(Array("scep-agent keystore key v1\0".utf8))
        digest.update(secret)
        return digest.finish()
    }

    public static func seal(_ plaintext: SecretBytes, key: SecretBytes, random: RandomGenerator) throws(CryptoError) -> [UInt8] {
        let nonce = try random.bytes(nonceSize)
        var ciphertext = [UInt8](repeating: 0, count: plaintext.count)
        var tag = [UInt8](repeating: 0, count: tagSize)
        let result = try withGCM(key: key) { context in plaintext.withBytes { input in
            ciphertext.withUnsafeMutableBufferPointer { output in
                tag.withUnsafeMutableBufferPointer { tagBuffer in
                    mbedtls_gcm_crypt_and_tag(context, MBEDTLS_GCM_ENCRYPT, input.count, nonce, nonceSize, magic, magic.count,
                                              input.baseAddress, output.baseAddress, tagSize, tagBuffer.baseAddress)
                }
            }
        } }
        try check(.seal, result)
        return magic + nonce + ciphertext + tag
    }

    /// Opens a sealed buffer; a wrong key or any altered byte fails authentication.
    public static func open(_ sealed: [UInt8], key: SecretBytes) throws(CryptoError) -> SecretBytes {
        guard sealed.count >= magic.count + nonceSize + tagSize, sealed.prefix(magic.count).elementsEqual(magic) else {
            throw CryptoError(.notSealed)
        }
        let nonce = Array(sealed[magic.count..<(magic.count + nonceSize)])
        let ciphertext = Array(sealed[(magic.count + nonceSize)..<(sealed.count - tagSize)])
        let tag = Array(sealed.suffix(tagSize))
        let plaintext = SecretBytes(count: ciphertext.count)
        let result = try withGCM(key: key) { context in plaintext.withMutableBytes { output in
            mbedtls_gcm_auth_decrypt(context, ciphertext.count, nonce, nonceSize, magic, magic.count, tag, tagSize,
                                     ciphertext, output.baseAddress)
        } }
        guard result == 0 else {
            plaintext.wipe()
            throw CryptoError(.openSealed, code: result)
        }
        return plaintext
    }

    /// An AES-256-GCM context keyed with `key`, for the duration of `body`.
    private static func withGCM(key: SecretBytes, _ body: (UnsafeMutablePointer<mbedtls_gcm_context>) -> Int32) throws(CryptoError) -> Int32 {
        let context = UnsafeMutablePointer<mbedtls_gcm_context>.allocate(capacity: 1)
        mbedtls_gcm_init(context)
        defer {
            mbedtls_gcm_free(context)
            context.deallocate()
        }
        try check(.seal, key.withBytes { mbedtls_gcm_setkey(context, MBEDTLS_CIPHER_ID_AES, $0.baseAddress, 256) })
        return body(context)
    }
}
