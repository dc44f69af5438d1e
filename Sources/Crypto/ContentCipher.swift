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
        try plaintext.withUnsafeBufferPointer { (buffer) throws(CryptoError) in
            try run(MBEDTLS_ENCRYPT, buffer, key: key, iv: iv, padding: true)
        }
    }

    /// Encrypts a secret (a request carrying the challenge) where it lies: no copy of it is made.
    public func encrypt(_ plaintext: SecretBytes, key: SecretBytes, iv: [UInt8]) throws(CryptoError) -> [UInt8] {
        try plaintext.withBytes { (buffer) throws(CryptoError) in try run(MBEDTLS_ENCRYPT, buffer, key: key, iv: iv, padding: true) }
    }

    /// Decrypts and checks the padding; a wrong key or corrupt ciphertext fails here.
    public func decrypt(_ ciphertext: [UInt8], key: SecretBytes, iv: [UInt8]) throws(CryptoError) -> [UInt8] {
        guard !ciphertext.isEmpty, ciphertext.count % blockSize == 0 else { throw CryptoError(.ciphertextLength(self)) }
        return try ciphertext.withUnsafeBufferPointer { (buffer) throws(CryptoError) in
            try run(MBEDTLS_DECRYPT, buffer, key: key, iv: iv, padding: true)
        }
    }

    /// CBC over whole blocks without padding, for key-encryption schemes that pad for themselves
    /// (RFC 3211's password recipient). Input and result are secret.
    public func crypt(unpadded input: SecretBytes, encrypt: Bool, key: SecretBytes, iv: [UInt8]) throws(CryptoError) -> SecretBytes {
        guard input.count > 0, input.count % blockSize == 0 else { throw CryptoError(.ciphertextLength(self)) }
        return SecretBytes(try input.withBytes { (buffer) throws(CryptoError) in
            try run(encrypt ? MBEDTLS_ENCRYPT : MBEDTLS_DECRYPT, buffer, key: key, iv: iv, padding: false)
        })
    }

    private func run(_ direction: mbedtls_operation_t, _ input: UnsafeBufferPointer<UInt8>, key: SecretBytes,
                     iv: [UInt8], padding: Bool) throws(CryptoError) -> [UInt8] {
        guard key.count == keySize else { throw CryptoError(.cipherKey(self)) }
        guard iv.count == blockSize else { throw CryptoError(.cipherIV(self)) }
        let context = UnsafeMutablePointer<mbedtls_cipher_context_t>.allocate(capacity: 1)
        mbedtls_cipher_init(context)
        defer {
            mbedtls_cipher_free(context)
            context.deallocate()
        }
        try check(.cipherSetup(self), mbedtls_cipher_setup(context, mbedtls_cipher_info_from_type(mbedtlsType)))
        try check(.cipherSetup(self), key.withBytes { mbedtls_cipher_setkey(context, $0.baseAddress, Int32(keySize * 8), direction) })
        try check(.cipherSetup(self), mbedtls_cipher_set_padding_mode(context, padding ? MBEDTLS_PADDING_PKCS7 : MBEDTLS_PADDING_NONE))
        var output = [UInt8](repeating: 0, count: input.count + blockSize)
        var length = 0
        let result = iv.withUnsafeBufferPointer { ivBuffer in
            output.withUnsafeMutableBufferPointer { outBuffer in
                mbedtls_cipher_crypt(context, ivBuffer.baseAddress, ivBuffer.count, input.baseAddress,
                                     input.count, outBuffer.baseAddress, &length)
            }
        }
        // The working buffer is wiped: what it held may be secret (a request, a wrapped key).
        defer { for index in output.indices { output[index] = 0 } }
        try check(direction == MBEDTLS_ENCRYPT ? .encryptContent(self) : .decryptContent(self), result)
        return Array(output[0..<length])
    }
}
