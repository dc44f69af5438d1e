import CMbedTLS

/// A private key held by mbedTLS in this process's memory: the key process's file-backed keys,
/// and test keys. mbedTLS zeroizes the key's numbers when the context is freed, which happens
/// when the last reference goes.
///
/// There is no description and no accessor for the private parts: the only way out is
/// `privateKeyDER()` for the keystore and published copies, which returns `SecretBytes`.
public final class SoftwareKey: PrivateKey {
    let pk: PKContext
    let random: RandomGenerator

    private init(_ pk: PKContext, type: KeyType, random: RandomGenerator) throws(CryptoError) {
        self.pk = pk
        self.random = random
        super.init(type: type, publicKeyInfo: try pk.publicKeyInfoDER())
    }

    /// A fresh key: RSA with public exponent 65537, or EC on the named curve.
    public static func generate(_ type: KeyType, random: RandomGenerator) throws(CryptoError) -> SoftwareKey {
        let pk = PKContext()
        switch type {
        case .rsa(let bits):
            try check(.generateKey(type), mbedtls_pk_setup(pk.context, mbedtls_pk_info_from_type(MBEDTLS_PK_RSA)))
            try check(.generateKey(type), mbedtls_rsa_gen_key(mbedtls_pk_rsa(pk.context.pointee), mbedtls_ctr_drbg_random,
                                                              random.context, UInt32(bits), 65537))
        case .ec(let curve):
            try check(.generateKey(type), mbedtls_pk_setup(pk.context, mbedtls_pk_info_from_type(MBEDTLS_PK_ECKEY)))
            try check(.generateKey(type), mbedtls_ecp_gen_key(curve.group, mbedtls_pk_ec(pk.context.pointee),
                                                              mbedtls_ctr_drbg_random, random.context))
        }
        return try SoftwareKey(pk, type: type, random: random)
    }

    /// Parses a private key in DER or PEM: PKCS#1 or SEC 1, or unencrypted PKCS#8. RSA of a
    /// supported size, or EC on P-256 or P-384.
    public static func parse(_ secret: SecretBytes, random: RandomGenerator) throws(CryptoError) -> SoftwareKey {
        let pk = PKContext()
        // PEM input must be NUL-terminated with the NUL counted; DER must not be.
        let isPEM = secret.withBytes { $0.count > 0 && $0[0] == UInt8(ascii: "-") }
        let input = SecretBytes(count: secret.count + (isPEM ? 1 : 0))
        input.withMutableBytes { target in
            secret.withBytes { source in
                for index in 0..<source.count { target[index] = source[index] }
            }
        }
        try check(.parsePrivateKey, input.withBytes { mbedtls_pk_parse_key(pk.context, $0.baseAddress, $0.count, nil, 0) })
        guard let type = pk.keyType else { throw CryptoError(.parsePrivateKey) }
        return try SoftwareKey(pk, type: type, random: random)
    }

    /// The private key's DER, for storage only: PKCS#1 RSAPrivateKey or SEC 1 ECPrivateKey.
    public func privateKeyDER() throws(CryptoError) -> SecretBytes {
        let buffer = SecretBytes(count: 8192)
        let written = buffer.withMutableBytes { mbedtls_pk_write_key_der(pk.context, $0.baseAddress, $0.count) }
        guard written > 0 else { throw CryptoError(.encodeKey, code: written) }
        defer { buffer.wipe() }
        return buffer.withBytes { SecretBytes(Array($0[($0.count - Int(written))...])) }
    }

    /// The PEM label of `privateKeyDER()`, which openssl and other tools expect.
    public var pemLabel: String { type.isRSA ? "RSA PRIVATE KEY" : "EC PRIVATE KEY" }

    public override func sign(digest: [UInt8], algorithm: DigestAlgorithm) throws(CryptoError) -> [UInt8] {
        guard digest.count == algorithm.outputSize else { throw CryptoError(.digestSize) }
        var signature = [UInt8](repeating: 0, count: scep_mbedtls_pk_signature_max_size())
        var length = 0
        let result = digest.withUnsafeBufferPointer { hash in
            signature.withUnsafeMutableBufferPointer { output in
                mbedtls_pk_sign(pk.context, algorithm.mbedtlsType, hash.baseAddress, hash.count, output.baseAddress,
                                &length, mbedtls_ctr_drbg_random, random.context)
            }
        }
        try check(.sign, result)
        return Array(signature[0..<length])
    }

    public override func decrypt(_ encryptedKey: [UInt8]) throws(CryptoError) -> SecretBytes {
        guard type.isRSA else { throw CryptoError(.keyType(expected: "RSA")) }
        let output = SecretBytes(count: 1024)
        defer { output.wipe() }
        var length = 0
        let result = encryptedKey.withUnsafeBufferPointer { input in
            output.withMutableBytes { out in
                mbedtls_pk_decrypt(pk.context, input.baseAddress, input.count, out.baseAddress, &length, out.count,
                                   mbedtls_ctr_drbg_random, random.context)
            }
        }
        try check(.decrypt, result)
        return output.withBytes { SecretBytes(Array($0[0..<length])) }
    }

    public override func agree(peerPoint: [UInt8]) throws(CryptoError) -> SecretBytes {
        guard case .ec(let curve) = type else { throw CryptoError(.keyType(expected: "EC")) }
        let secret = SecretBytes(count: curve.coordinateSize)
        let result = peerPoint.withUnsafeBufferPointer { peer in
            secret.withMutableBytes { out in
                scep_ecdh_shared_secret(pk.context, peer.baseAddress, peer.count, out.baseAddress, out.count,
                                        mbedtls_ctr_drbg_random, random.context)
            }
        }
        guard result == 0 else {
            secret.wipe()
            throw CryptoError(.keyAgreement, code: result)
        }
        return secret
    }
}

/// An mbedTLS key context at a fixed address, freed (and its numbers zeroized) with the object.
final class PKContext {
    let context: UnsafeMutablePointer<mbedtls_pk_context>

    init() {
        context = .allocate(capacity: 1)
        mbedtls_pk_init(context)
    }

    deinit {
        mbedtls_pk_free(context)
        context.deallocate()
    }

    /// RSA of a supported size, or EC on a supported curve; nil for anything else.
    var keyType: KeyType? {
        switch mbedtls_pk_get_type(context) {
        case MBEDTLS_PK_RSA:
            let bits = Int(mbedtls_pk_get_bitlen(context))
            return bits >= 2048 && bits <= 8192 ? .rsa(bits: bits) : nil
        case MBEDTLS_PK_ECKEY:
            guard let keypair = mbedtls_pk_ec(context.pointee), let curve = EllipticCurve(group: keypair.pointee.grp.id) else {
                return nil
            }
            return .ec(curve)
        default:
            return nil
        }
    }

    func publicKeyInfoDER() throws(CryptoError) -> [UInt8] {
        try writeBackwards(.encodeKey, capacity: 2048) { mbedtls_pk_write_pubkey_der(context, $0, $1) }
    }
}

/// Calls an mbedTLS writer that fills a buffer from its end and returns the length written.
func writeBackwards(_ operation: CryptoError.Operation, capacity: Int,
                    _ write: (UnsafeMutablePointer<UInt8>?, Int) -> Int32) throws(CryptoError) -> [UInt8] {
    var buffer = [UInt8](repeating: 0, count: capacity)
    let written = buffer.withUnsafeMutableBufferPointer { write($0.baseAddress, $0.count) }
    guard written > 0 else { throw CryptoError(operation, code: written) }
    return Array(buffer[(capacity - Int(written))...])
}
