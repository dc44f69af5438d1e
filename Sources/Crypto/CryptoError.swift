import Encoding

/// A failed cryptographic operation: which one, and mbedTLS's error code when it was mbedTLS
/// that failed. It never carries key material or plaintext, and its text is made only where it
/// is shown.
public struct CryptoError: Error, Equatable, Sendable, CustomStringConvertible {
    public enum Operation: Equatable, Sendable {
        case seedRandom, random
        case generateKey(KeyType)
        case parsePrivateKey, parsePublicKey, encodeKey
        /// A key of another type than the operation needs (an EC key asked to decrypt, ...).
        case keyType(expected: String)
        case sign, decrypt, encrypt, keyAgreement
        case digestSize
        case cipherSetup(ContentCipher), cipherKey(ContentCipher), cipherIV(ContentCipher)
        case encryptContent(ContentCipher), decryptContent(ContentCipher)
        case ciphertextLength(ContentCipher)
        case contentKeySize
        case keyWrap, keyUnwrap, keyDerivation
        case seal, openSealed, notSealed
        /// The key is held elsewhere (the key process, a TPM), and that holder failed; `detail`
        /// says how, in the holder's words.
        case keyHolder(String)
        case tls(TLSStep)
        case tlsNotTrusted(String)
    }

    public enum TLSStep: Equatable, Sendable {
        case trustBundle, emptyTrustBundle, configure, setup, serverName, handshake, write, read, readTimedOut
    }

    public let operation: Operation
    /// mbedTLS's negative error code, or 0 when the failure is ours.
    public let code: Int32

    public init(_ operation: Operation, code: Int32 = 0) {
        self.operation = operation
        self.code = code
    }

    public var description: String {
        guard code != 0 else { return operation.text }
        return "\(operation.text) (mbedTLS error -0x\(hex(UInt32(-Int64(code)))))"
    }
}

extension CryptoError.Operation {
    var text: String {
        switch self {
        case .seedRandom: "seeding the random generator"
        case .random: "generating random bytes"
        case .generateKey(let type): "generating a \(type.name) key"
        case .parsePrivateKey: "parsing the private key"
        case .parsePublicKey: "parsing a public key"
        case .encodeKey: "encoding a key"
        case .keyType(let expected): "the key is not \(expected)"
        case .sign: "signing"
        case .decrypt: "decrypting the content key"
        case .encrypt: "encrypting the content key"
        case .keyAgreement: "key agreement (ECDH)"
        case .digestSize: "a digest of the wrong size"
        case .cipherSetup(let cipher): "\(cipher.name) setup"
        case .cipherKey(let cipher): "\(cipher.name): key of the wrong size"
        case .cipherIV(let cipher): "\(cipher.name): IV of the wrong size"
        case .encryptContent(let cipher): "\(cipher.name) encryption"
        case .decryptContent(let cipher): "\(cipher.name) decryption"
        case .ciphertextLength(let cipher): "\(cipher.name) ciphertext is not a whole number of blocks"
        case .contentKeySize: "the content key has the wrong size"
        case .keyWrap: "AES key wrap"
        case .keyUnwrap: "AES key unwrap: wrong key, or the wrapped key was altered"
        case .keyDerivation: "key derivation"
        case .seal: "sealing"
        case .openSealed: "the keystore key does not decrypt: wrong device secret, or the file was altered"
        case .notSealed: "not a sealed keystore key"
        case .keyHolder(let detail): detail
        case .tls(let step): step.text
        case .tlsNotTrusted(let reasons): "server certificate not trusted (\(reasons))"
        }
    }
}

extension CryptoError.TLSStep {
    var text: String {
        switch self {
        case .trustBundle: "reading the --tls-ca bundle"
        case .emptyTrustBundle: "the --tls-ca bundle holds no certificate"
        case .configure: "TLS configuration"
        case .setup: "TLS setup"
        case .serverName: "TLS server name"
        case .handshake: "TLS handshake failed"
        case .write: "TLS write failed"
        case .read: "TLS read failed"
        case .readTimedOut: "TLS read timed out"
        }
    }
}

func hex(_ value: UInt32) -> String {
    var digits = Array(Hex.encode([UInt8(value >> 24), UInt8((value >> 16) & 0xff), UInt8((value >> 8) & 0xff), UInt8(value & 0xff)]).utf8)
    while digits.count > 4 && digits[0] == UInt8(ascii: "0") { digits.removeFirst() }
    return String(decoding: digits, as: UTF8.self)
}

/// Runs an mbedTLS call and turns a non-zero result into a `CryptoError`.
@inline(__always)
func check(_ operation: CryptoError.Operation, _ result: Int32) throws(CryptoError) {
    if result != 0 { throw CryptoError(operation, code: result) }
}
