import CMbedTLS

/// The CBC content ciphers of CMS EnvelopedData, with PKCS#7 padding.
///
/// AES is what we send. 3DES is sent only when a server offers nothing better and weak crypto is
/// allowed. Single DES is never sent; it exists to read replies from servers that still use it
/// (micromdm scepserver).
public enum ContentCipher: Equatable, Sendable {
    case aes128CBC, aes192CBC, aes256CBC, desEDE3CBC, desCBC

    public var keySize: Int {
        switch self {
        case .aes128CBC: 16
        case .aes192CBC: 24
        case .aes256CBC: 32
        case .desEDE3CBC: 24
        case .desCBC: 8
        }
    }

    public var blockSize: Int {
        switch self {
        case .aes128CBC, .aes192CBC, .aes256CBC: 16
        case .desEDE3CBC, .desCBC: 8
        }
    }

    public var name: String {
        switch self {
        case .aes128CBC: "AES-128-CBC"
        case .aes192CBC: "AES-192-CBC"
        case .aes256CBC: "AES-256-CBC"
        case .desEDE3CBC: "DES-EDE3-CBC"
        case .desCBC: "DES-CBC"
        }
    }

    public var isWeak: Bool { self == .desEDE3CBC || self == .desCBC }

    var mbedtlsType: mbedtls_cipher_type_t {
        switch self {
        case .aes128CBC: MBEDTLS_CIPHER_AES_128_CBC
        case .aes192CBC: MBEDTLS_CIPHER_AES_192_CBC
        case .aes256CBC: MBEDTLS_CIPHER_AES_256_CBC
        case .desEDE3CBC: MBEDTLS_CIPHER_DES_EDE3_CBC
        case .desCBC: MBEDTLS_CIPHER_DES_CBC
        }
    }

    public func encrypt(_ plaintext: [UInt8], key: SecretBytes, iv: [UInt8]) throws(CryptoError) -> [UInt8] {
        try run(MBEDTLS_ENCRYPT, plaintext, key: key, iv: iv)
    }

    /// Decrypts and checks the padding; a wrong key or corrupt ciphertext fails here.
    public func decrypt(_ ciphertext: [UInt8], key: SecretBytes, iv: [UInt8]) throws(CryptoError) -> [UInt8] {
        guard !ciphertext.isEmpty, ciphertext.count % blockSize == 0 else {
            throw CryptoError("\(name) ciphertext is not a whole number of blocks")
        }
        return try run(MBEDTLS_DECRYPT, ciphertext, key: key, iv: iv)
    }

    private func run(_ direction: mbedtls_operation_t, _ input: [UInt8], key: SecretBytes,
                     iv: [UInt8]) throws(CryptoError) -> [UInt8] {
        guard key.count == keySize else { throw CryptoError("\(name): key of wrong size") }
        guard iv.count == blockSize else { throw CryptoError("\(name): IV of wrong size") }
        let context = UnsafeMutablePointer<mbedtls_cipher_context_t>.allocate(capacity: 1)
        mbedtls_cipher_init(context)
        defer {
            mbedtls_cipher_free(context)
            context.deallocate()
        }
        try check("\(name) setup", mbedtls_cipher_setup(context, mbedtls_cipher_info_from_type(mbedtlsType)))
        let keyResult = key.withBytes { mbedtls_cipher_setkey(context, $0.baseAddress, Int32(keySize * 8), direction) }
        try check("\(name) key", keyResult)
        try check("\(name) padding", mbedtls_cipher_set_padding_mode(context, MBEDTLS_PADDING_PKCS7))
        var output = [UInt8](repeating: 0, count: input.count + blockSize)
        var length = 0
        let result = iv.withUnsafeBufferPointer { ivBuffer in
            input.withUnsafeBufferPointer { inBuffer in
                output.withUnsafeMutableBufferPointer { outBuffer in
                    mbedtls_cipher_crypt(context, ivBuffer.baseAddress, ivBuffer.count, inBuffer.baseAddress,
                                         inBuffer.count, outBuffer.baseAddress, &length)
                }
            }
        }
        try check(direction == MBEDTLS_ENCRYPT ? "\(name) encryption" : "\(name) decryption", result)
        return Array(output[0..<length])
    }
}
