import CMbedTLS

/// A public key from a SubjectPublicKeyInfo: RSA or EC on a supported curve. It verifies
/// signatures (PKCS#1 v1.5 or ECDSA) and, for RSA, encrypts content keys (key transport).
public final class PublicKey {
    let pk: PKContext
    public let type: KeyType

    public init(publicKeyInfo: [UInt8]) throws(CryptoError) {
        let parsed = PKContext()
        let result = publicKeyInfo.withUnsafeBufferPointer { mbedtls_pk_parse_public_key(parsed.context, $0.baseAddress, $0.count) }
        guard result == 0 else { throw CryptoError(.parsePublicKey, code: result) }
        // A CA key may be shorter than a device key is allowed to be; every RSA size mbedTLS
        // reads is taken here.
        switch mbedtls_pk_get_type(parsed.context) {
        case MBEDTLS_PK_RSA:
            // Every signature check costs in proportion to the exponent's length: a huge one
            // (which no CA uses; 65537 is 17 bits) would let a hostile server or network process
            // keep the agent busy for minutes with a handful of certificates.
            guard scep_mbedtls_rsa_exponent_bits(parsed.context) <= 32, mbedtls_pk_get_bitlen(parsed.context) <= 8192 else {
                throw CryptoError(.parsePublicKey)
            }
            type = .rsa(bits: Int(mbedtls_pk_get_bitlen(parsed.context)))
        default:
            guard let known = parsed.keyType else { throw CryptoError(.parsePublicKey) }
            type = known
        }
        pk = parsed
    }

    /// Checks a signature over a precomputed digest: PKCS#1 v1.5 for an RSA key, a DER
    /// ECDSA-Sig-Value for an EC key.
    public func verify(signature: [UInt8], digest: [UInt8], algorithm: DigestAlgorithm) -> Bool {
        guard digest.count == algorithm.outputSize else { return false }
        let result = digest.withUnsafeBufferPointer { hash in
            signature.withUnsafeBufferPointer { sig in
                mbedtls_pk_verify(pk.context, algorithm.mbedtlsType, hash.baseAddress, hash.count, sig.baseAddress, sig.count)
            }
        }
        return result == 0
    }

    /// RSAES-PKCS1-v1_5 encryption of a content-encryption key to this key. The padding's random
    /// bytes come through `scep_padding_random`, because mbedTLS draws them one at a time.
    public func encrypt(_ secret: SecretBytes, random: RandomGenerator) throws(CryptoError) -> [UInt8] {
        guard type.isRSA else { throw CryptoError(.keyType(expected: "RSA")) }
        var output = [UInt8](repeating: 0, count: 1024)
        var length = 0
        var source = scep_padding_source()
        scep_padding_source_init(&source, random.drbg)
        defer { scep_padding_source_free(&source) }
        let result = withUnsafeMutablePointer(to: &source) { sourcePointer in
            secret.withBytes { input in
                output.withUnsafeMutableBufferPointer { out in
                    mbedtls_pk_encrypt(pk.context, input.baseAddress, input.count, out.baseAddress, &length, out.count,
                                       scep_padding_random, sourcePointer)
                }
            }
        }
        try check(.encrypt, result)
        return Array(output[0..<length])
    }
}
