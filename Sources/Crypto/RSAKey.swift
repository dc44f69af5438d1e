import CMbedTLS

/// An RSA private key. The mbedTLS context lives at a fixed address for its whole life and is
/// freed (mbedTLS zeroizes the bignums) when the last reference goes.
///
/// There is no description and no accessor for the private parts: the only ways out are
/// `pkcs1DER()` for the keystore, which returns `SecretBytes`, and the operations below.
public final class RSAPrivateKey {
    let context: UnsafeMutablePointer<mbedtls_pk_context>

    private init() {
        context = .allocate(capacity: 1)
        mbedtls_pk_init(context)
    }

    deinit {
        mbedtls_pk_free(context)
        context.deallocate()
    }

    /// A fresh key with public exponent 65537.
    public static func generate(bits: Int, random: RandomGenerator) throws(CryptoError) -> RSAPrivateKey {
        let key = RSAPrivateKey()
        try check("setting up an RSA key", mbedtls_pk_setup(key.context, mbedtls_pk_info_from_type(MBEDTLS_PK_RSA)))
        let rsa = mbedtls_pk_rsa(key.context.pointee)
        try check("generating a \(bits)-bit RSA key",
                  mbedtls_rsa_gen_key(rsa, mbedtls_ctr_drbg_random, random.context, UInt32(bits), 65537))
        return key
    }

    /// Parses a private key in DER or PEM (PKCS#1 or unencrypted PKCS#8). Only RSA is accepted.
    public static func parse(_ secret: SecretBytes) throws(CryptoError) -> RSAPrivateKey {
        let key = RSAPrivateKey()
        // PEM input must be NUL-terminated with the NUL counted; DER must not be.
        let isPEM = secret.withBytes { $0.count > 0 && $0[0] == UInt8(ascii: "-") }
        let input = SecretBytes(count: secret.count + (isPEM ? 1 : 0))
        input.withMutableBytes { target in
            secret.withBytes { source in
                for index in 0..<source.count { target[index] = source[index] }
            }
        }
        let result = input.withBytes { mbedtls_pk_parse_key(key.context, $0.baseAddress, $0.count, nil, 0) }
        try check("parsing the private key", result)
        guard mbedtls_pk_get_type(key.context) == MBEDTLS_PK_RSA else { throw CryptoError("the private key is not RSA") }
        return key
    }

    public var bits: Int { Int(mbedtls_pk_get_bitlen(context)) }

    /// SubjectPublicKeyInfo DER of the public half.
    public func publicKeyInfoDER() throws(CryptoError) -> [UInt8] {
        try writeBackwards("encoding the public key", capacity: 2048) { mbedtls_pk_write_pubkey_der(context, $0, $1) }
    }

    /// PKCS#1 RSAPrivateKey DER, for storage only.
    public func pkcs1DER() throws(CryptoError) -> SecretBytes {
        let buffer = SecretBytes(count: 8192)
        let written = buffer.withMutableBytes { mbedtls_pk_write_key_der(context, $0.baseAddress, $0.count) }
        guard written > 0 else { throw CryptoError("encoding the private key", code: written) }
        return buffer.withBytes { SecretBytes(Array($0[($0.count - Int(written))...])) }
    }

    /// PKCS#1 v1.5 signature over a precomputed digest.
    public func sign(digest: [UInt8], algorithm: DigestAlgorithm, random: RandomGenerator) throws(CryptoError) -> [UInt8] {
        guard digest.count == algorithm.outputSize else { throw CryptoError("signing: digest of wrong size") }
        var signature = [UInt8](repeating: 0, count: scep_mbedtls_pk_signature_max_size())
        var length = 0
        let result = digest.withUnsafeBufferPointer { hash in
            signature.withUnsafeMutableBufferPointer { output in
                mbedtls_pk_sign(context, algorithm.mbedtlsType, hash.baseAddress, hash.count, output.baseAddress,
                                &length, mbedtls_ctr_drbg_random, random.context)
            }
        }
        try check("signing", result)
        return Array(signature[0..<length])
    }

    /// RSAES-PKCS1-v1_5 decryption of a content-encryption key. The result is secret.
    public func decrypt(_ ciphertext: [UInt8], random: RandomGenerator) throws(CryptoError) -> SecretBytes {
        let output = SecretBytes(count: 1024)
        var length = 0
        let result = ciphertext.withUnsafeBufferPointer { input in
            output.withMutableBytes { out in
                mbedtls_pk_decrypt(context, input.baseAddress, input.count, out.baseAddress, &length, out.count,
                                   mbedtls_ctr_drbg_random, random.context)
            }
        }
        try check("decrypting the content key", result)
        return output.withBytes { SecretBytes(Array($0[0..<length])) }
    }

    /// Whether `publicKeyInfo` (SubjectPublicKeyInfo DER) is this key's public half.
    public func matches(publicKeyInfo: [UInt8]) -> Bool {
        guard let mine = try? publicKeyInfoDER() else { return false }
        return mine == publicKeyInfo
    }
}

/// An RSA public key, from a SubjectPublicKeyInfo.
public final class RSAPublicKey {
    let context: UnsafeMutablePointer<mbedtls_pk_context>

    public init(publicKeyInfo: [UInt8]) throws(CryptoError) {
        context = .allocate(capacity: 1)
        mbedtls_pk_init(context)
        // Every stored property is set, so a throw below still runs deinit, which frees the context.
        let result = publicKeyInfo.withUnsafeBufferPointer { mbedtls_pk_parse_public_key(context, $0.baseAddress, $0.count) }
        guard result == 0 else { throw CryptoError("parsing a public key", code: result) }
        guard mbedtls_pk_get_type(context) == MBEDTLS_PK_RSA else { throw CryptoError("the public key is not RSA") }
    }

    deinit {
        mbedtls_pk_free(context)
        context.deallocate()
    }

    public var bits: Int { Int(mbedtls_pk_get_bitlen(context)) }

    /// Checks a PKCS#1 v1.5 signature over a precomputed digest.
    public func verify(signature: [UInt8], digest: [UInt8], algorithm: DigestAlgorithm) -> Bool {
        guard digest.count == algorithm.outputSize else { return false }
        let result = digest.withUnsafeBufferPointer { hash in
            signature.withUnsafeBufferPointer { sig in
                mbedtls_pk_verify(context, algorithm.mbedtlsType, hash.baseAddress, hash.count, sig.baseAddress, sig.count)
            }
        }
        return result == 0
    }

    /// RSAES-PKCS1-v1_5 encryption of a content-encryption key to this key. The padding's random
    /// bytes come through `scep_padding_random`, because mbedTLS draws them one at a time.
    public func encrypt(_ secret: SecretBytes, random: RandomGenerator) throws(CryptoError) -> [UInt8] {
        var output = [UInt8](repeating: 0, count: 1024)
        var length = 0
        var source = scep_padding_source()
        scep_padding_source_init(&source, random.drbg)
        defer { scep_padding_source_free(&source) }
        let result = withUnsafeMutablePointer(to: &source) { sourcePointer in
            secret.withBytes { input in
                output.withUnsafeMutableBufferPointer { out in
                    mbedtls_pk_encrypt(context, input.baseAddress, input.count, out.baseAddress, &length, out.count,
                                       scep_padding_random, sourcePointer)
                }
            }
        }
        try check("encrypting the content key", result)
        return Array(output[0..<length])
    }
}

/// Calls an mbedTLS writer that fills a buffer from its end and returns the length written.
func writeBackwards(_ operation: String, capacity: Int,
                    _ write: (UnsafeMutablePointer<UInt8>?, Int) -> Int32) throws(CryptoError) -> [UInt8] {
    var buffer = [UInt8](repeating: 0, count: capacity)
    let written = buffer.withUnsafeMutableBufferPointer { write($0.baseAddress, $0.count) }
    guard written > 0 else { throw CryptoError(operation, code: written) }
    return Array(buffer[(capacity - Int(written))...])
}
