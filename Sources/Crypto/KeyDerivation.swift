import CMbedTLS

/// The key-derivation and key-wrapping steps of the CMS recipients that do not use key
/// transport: ECDH key agreement (RFC 5753: X9.63 KDF, then AES key wrap) and passwords
/// (RFC 3211: PBKDF2, then the KEK's double CBC encryption).
public enum KeyDerivation {
    /// Iteration counts come from the server's reply: anything above this is refused rather than
    /// computed, so a reply cannot hold the device's CPU for minutes. OpenSSL writes 2048.
    public static let maximumPBKDF2Iterations = 200_000

    /// PBKDF2 with HMAC (RFC 8018 section 5.2).
    public static func pbkdf2(password: SecretBytes, salt: [UInt8], iterations: Int, keyLength: Int,
                              digest: DigestAlgorithm) throws(CryptoError) -> SecretBytes {
        guard iterations >= 1, iterations <= maximumPBKDF2Iterations, keyLength >= 1, keyLength <= 64 else {
            throw CryptoError(.keyDerivation)
        }
        let context = UnsafeMutablePointer<mbedtls_md_context_t>.allocate(capacity: 1)
        mbedtls_md_init(context)
        defer {
            mbedtls_md_free(context)
            context.deallocate()
        }
        try check(.keyDerivation, mbedtls_md_setup(context, mbedtls_md_info_from_type(digest.mbedtlsType), 1))
        let output = SecretBytes(count: keyLength)
        let result = password.withBytes { secret in
            salt.withUnsafeBufferPointer { saltBuffer in
                output.withMutableBytes { out in
                    mbedtls_pkcs5_pbkdf2_hmac(context, secret.baseAddress, secret.count, saltBuffer.baseAddress, saltBuffer.count,
                                              UInt32(iterations), UInt32(keyLength), out.baseAddress)
                }
            }
        }
        guard result == 0 else {
            output.wipe()
            throw CryptoError(.keyDerivation, code: result)
        }
        return output
    }

    /// ANSI X9.63 KDF (SEC 1 section 3.6.1): Hash(Z || counter || sharedInfo) for counter 1, 2...
    /// until `keyLength` bytes.
    public static func x963(secret: SecretBytes, sharedInfo: [UInt8], keyLength: Int,
                            digest: DigestAlgorithm) throws(CryptoError) -> SecretBytes {
        guard keyLength >= 1, keyLength <= 64 else { throw CryptoError(.keyDerivation) }
        let output = SecretBytes(count: keyLength)
        var filled = 0
        var counter: UInt32 = 1
        while filled < keyLength {
            let block = IncrementalDigest(digest)
            block.update(secret)
            block.update([UInt8(counter >> 24), UInt8((counter >> 16) & 0xff), UInt8((counter >> 8) & 0xff), UInt8(counter & 0xff)])
            block.update(sharedInfo)
            let part = block.finish()
            output.withMutableBytes { out in
                part.withBytes { bytes in
                    for index in 0..<min(bytes.count, keyLength - filled) { out[filled + index] = bytes[index] }
                }
            }
            filled += part.count
            counter += 1
        }
        return output
    }
}

/// AES key wrap (RFC 3394), as CMS key agreement recipients use it. Written over AES-ECB here
/// because Debian's mbedTLS is built without its NIST_KW module.
public enum AESKeyWrap {
    static let initialValue: [UInt8] = [0xa6, 0xa6, 0xa6, 0xa6, 0xa6, 0xa6, 0xa6, 0xa6]

    public static func wrap(_ key: SecretBytes, with kek: SecretBytes) throws(CryptoError) -> [UInt8] {
        guard key.count >= 16, key.count % 8 == 0, [16, 24, 32].contains(kek.count) else { throw CryptoError(.keyWrap) }
        let blocks = key.count / 8
        var a = initialValue
        var r = key.withBytes { Array($0) }
        defer { for index in r.indices { r[index] = 0 } }
        try withAES(kek, encrypt: true) { (block) throws(CryptoError) in
            for j in 0..<6 {
                for i in 1...blocks {
                    var input = a + Array(r[(i - 1) * 8..<i * 8])
                    let output = try block(input)
                    let t = UInt64(blocks * j + i)
                    a = Array(output[0..<8])
                    for k in 0..<8 { a[k] ^= UInt8((t >> (56 - 8 * UInt64(k))) & 0xff) }
                    for k in 0..<8 { r[(i - 1) * 8 + k] = output[8 + k] }
                    for k in input.indices { input[k] = 0 }
                }
            }
        }
        return a + r
    }

    public static func unwrap(_ wrapped: [UInt8], with kek: SecretBytes) throws(CryptoError) -> SecretBytes {
        guard wrapped.count >= 24, wrapped.count % 8 == 0, wrapped.count <= 72, [16, 24, 32].contains(kek.count) else {
            throw CryptoError(.keyUnwrap)
        }
        let blocks = wrapped.count / 8 - 1
        var a = Array(wrapped[0..<8])
        var r = Array(wrapped[8...])
        defer { for index in r.indices { r[index] = 0 } }
        try withAES(kek, encrypt: false) { (block) throws(CryptoError) in
            for j in stride(from: 5, through: 0, by: -1) {
                for i in stride(from: blocks, through: 1, by: -1) {
                    let t = UInt64(blocks * j + i)
                    for k in 0..<8 { a[k] ^= UInt8((t >> (56 - 8 * UInt64(k))) & 0xff) }
                    var input = a + Array(r[(i - 1) * 8..<i * 8])
                    var output = try block(input)
                    a = Array(output[0..<8])
                    for k in 0..<8 { r[(i - 1) * 8 + k] = output[8 + k] }
                    for k in input.indices { input[k] = 0 }
                    for k in output.indices { output[k] = 0 }
                }
            }
        }
        // Constant time: the check value is the last thing compared.
        var difference: UInt8 = 0
        for k in 0..<8 { difference |= a[k] ^ initialValue[k] }
        guard difference == 0 else { throw CryptoError(.keyUnwrap) }
        return SecretBytes(r)
    }

    /// Runs `body` with a one-block AES function keyed with `kek`.
    private static func withAES(_ kek: SecretBytes, encrypt: Bool,
                                _ body: (([UInt8]) throws(CryptoError) -> [UInt8]) throws(CryptoError) -> Void) throws(CryptoError) {
        let context = UnsafeMutablePointer<mbedtls_aes_context>.allocate(capacity: 1)
        mbedtls_aes_init(context)
        defer {
            mbedtls_aes_free(context)
            context.deallocate()
        }
        let keyed = kek.withBytes { key in
            encrypt ? mbedtls_aes_setkey_enc(context, key.baseAddress, UInt32(key.count * 8))
                    : mbedtls_aes_setkey_dec(context, key.baseAddress, UInt32(key.count * 8))
        }
        try check(encrypt ? .keyWrap : .keyUnwrap, keyed)
        let mode = encrypt ? MBEDTLS_AES_ENCRYPT : MBEDTLS_AES_DECRYPT
        try body { (input) throws(CryptoError) in
            var output = [UInt8](repeating: 0, count: 16)
            let result = input.withUnsafeBufferPointer { inBuffer in
                output.withUnsafeMutableBufferPointer { outBuffer in
                    mbedtls_aes_crypt_ecb(context, mode, inBuffer.baseAddress, outBuffer.baseAddress)
                }
            }
            try check(encrypt ? .keyWrap : .keyUnwrap, result)
            return output
        }
    }
}
