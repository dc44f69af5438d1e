import Testing
@testable import Crypto
import CMbedTLS

@Suite struct DigestTests {
    @Test func knownAnswers() {
        let abc: [UInt8] = Array("abc".utf8)
        #expect(hexString(DigestAlgorithm.sha256.hash(abc)) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(hexString(DigestAlgorithm.sha1.hash(abc)) == "a9993e364706816aba3e25717850c26c9cd0d89d")
        #expect(DigestAlgorithm.sha512.hash(abc).count == 64)
    }
}

@Suite(.serialized) struct RSATests {
    nonisolated(unsafe) static let random = try! RandomGenerator()
    nonisolated(unsafe) static let key = try! RSAPrivateKey.generate(bits: 2048, random: random)

    @Test func signVerifyAndTamper() throws {
        let digest = DigestAlgorithm.sha256.hash(Array("message".utf8))
        let signature = try Self.key.sign(digest: digest, algorithm: .sha256, random: Self.random)
        let publicKey = try RSAPublicKey(publicKeyInfo: try Self.key.publicKeyInfoDER())
        #expect(publicKey.bits == 2048)
        #expect(publicKey.verify(signature: signature, digest: digest, algorithm: .sha256))
        var tampered = signature
        tampered[10] ^= 1
        #expect(!publicKey.verify(signature: tampered, digest: digest, algorithm: .sha256))
        #expect(!publicKey.verify(signature: signature, digest: DigestAlgorithm.sha256.hash([1]), algorithm: .sha256))
    }

    @Test func encryptDecryptRoundTrip() throws {
        let publicKey = try RSAPublicKey(publicKeyInfo: try Self.key.publicKeyInfoDER())
        let secret = SecretBytes(try Self.random.bytes(32))
        let ciphertext = try publicKey.encrypt(secret, random: Self.random)
        #expect(ciphertext.count == 256)
        let recovered = try Self.key.decrypt(ciphertext, random: Self.random)
        #expect(secret.withBytes { recovered.constantTimeEquals(Array($0)) })
    }

    @Test func privateKeyDERRoundTrip() throws {
        let der = try Self.key.pkcs1DER()
        let parsed = try RSAPrivateKey.parse(der)
        #expect(try parsed.publicKeyInfoDER() == Self.key.publicKeyInfoDER())
        #expect(Self.key.matches(publicKeyInfo: try parsed.publicKeyInfoDER()))
    }

    @Test func garbageKeysAreRefused() {
        #expect(throws: CryptoError.self) { try RSAPrivateKey.parse(SecretBytes([0x30, 0x03, 0x02, 0x01, 0x00])) }
        #expect(throws: CryptoError.self) { try RSAPublicKey(publicKeyInfo: [0x30, 0x00]) }
    }
}

@Suite struct CipherTests {
    @Test(arguments: [ContentCipher.aes128CBC, .aes256CBC, .desEDE3CBC, .desCBC])
    func roundTripAndWrongKey(cipher: ContentCipher) throws {
        let random = try RandomGenerator()
        let key = SecretBytes(try random.bytes(cipher.keySize))
        let iv = try random.bytes(cipher.blockSize)
        let plaintext: [UInt8] = Array("a certificate signing request, more than one block".utf8)
        let ciphertext = try cipher.encrypt(plaintext, key: key, iv: iv)
        #expect(ciphertext.count % cipher.blockSize == 0 && ciphertext.count > plaintext.count)
        #expect(try cipher.decrypt(ciphertext, key: key, iv: iv) == plaintext)
        #expect(throws: CryptoError.self) { try cipher.decrypt(Array(ciphertext.dropLast()), key: key, iv: iv) }
    }

    @Test func aesKnownAnswer() throws {
        // NIST SP 800-38A F.2.1, first block (CBC-AES128), plus one PKCS#7 padding block.
        let key = SecretBytes(hexBytes("2b7e151628aed2a6abf7158809cf4f3c"))
        let iv = hexBytes("000102030405060708090a0b0c0d0e0f")
        let output = try ContentCipher.aes128CBC.encrypt(hexBytes("6bc1bee22e409f96e93d7e117393172a"), key: key, iv: iv)
        #expect(hexString(Array(output.prefix(16))) == "7649abac8119b246cee98e9b12e9197d")
    }
}

@Suite struct SecretBytesTests {
    @Test func wipeZeroesAndTrimDropsNewlines() {
        let secret = SecretBytes(Array("s3cret\r\n".utf8))
        secret.trimTrailingNewlines()
        #expect(secret.constantTimeEquals(Array("s3cret".utf8)))
        secret.wipe()
        #expect(secret.withBytes { $0.allSatisfy { $0 == 0 } })
    }
}

func hexString(_ bytes: [UInt8]) -> String {
    bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
}

func hexBytes(_ text: String) -> [UInt8] {
    var bytes: [UInt8] = []
    var index = text.startIndex
    while index < text.endIndex {
        let next = text.index(index, offsetBy: 2)
        bytes.append(UInt8(text[index..<next], radix: 16)!)
        index = next
    }
    return bytes
}

/// `scep_padding_random`, the source RSAES-PKCS1-v1_5 padding draws from one byte at a time.
@Suite struct PaddingRandomTests {
    /// A CTR_DRBG seeded from fixed "entropy", so two of them produce the same stream. With
    /// `reseedingEveryDraw` (prediction resistance) each draw reseeds, so once `entropyFails` is
    /// set the next draw fails.
    final class FixedGenerator {
        let drbg = UnsafeMutablePointer<mbedtls_ctr_drbg_context>.allocate(capacity: 1)
        let failing = UnsafeMutablePointer<Bool>.allocate(capacity: 1)
        init(reseedingEveryDraw: Bool = false) {
            failing.initialize(to: false)
            mbedtls_ctr_drbg_init(drbg)
            let seeded = mbedtls_ctr_drbg_seed(drbg, { context, output, length in
                if context!.load(as: Bool.self) { return -1 }
                for index in 0..<length { output![index] = UInt8(truncatingIfNeeded: index &* 7) }
                return 0
            }, failing, nil, 0)
            precondition(seeded == 0)
            if reseedingEveryDraw { mbedtls_ctr_drbg_set_prediction_resistance(drbg, MBEDTLS_CTR_DRBG_PR_ON) }
        }
        deinit { mbedtls_ctr_drbg_free(drbg); drbg.deallocate(); failing.deallocate() }
        var entropyFails: Bool { get { failing.pointee } set { failing.pointee = newValue } }
        var calls: Int32 { drbg.pointee.reseed_counter }
        func bytes(_ count: Int) -> [UInt8] {
            var output = [UInt8](repeating: 0, count: count)
            precondition(mbedtls_ctr_drbg_random(drbg, &output, count) == 0)
            return output
        }
    }

    @Test func servesTheGeneratorsBytesInOrderFromBulkDraws() {
        let pooled = FixedGenerator(), direct = FixedGenerator()
        var source = scep_padding_source()
        scep_padding_source_init(&source, pooled.drbg)
        let callsBefore = pooled.calls
        // One byte at a time, as the padding asks, across two refills of the 256-byte pool.
        var served: [UInt8] = []
        for _ in 0..<600 {
            var byte: UInt8 = 0
            #expect(scep_padding_random(&source, &byte, 1) == 0)
            served.append(byte)
        }
        #expect(pooled.calls - callsBefore == 3)
        // CTR_DRBG is counter mode: the start of a 256-byte draw is a shorter draw.
        #expect(served == direct.bytes(256) + direct.bytes(256) + direct.bytes(256).prefix(88))

        // What was handed out is gone from the pool; what was not is still there, until freed.
        let pool = withUnsafeBytes(of: source.pool) { Array($0) }
        #expect(source.used == 88)
        #expect(pool.prefix(88).allSatisfy { $0 == 0 })
        #expect(pool.dropFirst(88).contains { $0 != 0 })
        scep_padding_source_free(&source)
        #expect(withUnsafeBytes(of: source) { $0.allSatisfy { $0 == 0 } })
    }

    @Test func largeRequestsCrossRefillsWithoutLoss() {
        let pooled = FixedGenerator(), direct = FixedGenerator()
        var source = scep_padding_source()
        scep_padding_source_init(&source, pooled.drbg)
        defer { scep_padding_source_free(&source) }
        var first = [UInt8](repeating: 0, count: 100), second = [UInt8](repeating: 0, count: 300)
        #expect(scep_padding_random(&source, &first, first.count) == 0)
        #expect(scep_padding_random(&source, &second, second.count) == 0)
        #expect(first + second == direct.bytes(256) + direct.bytes(144))
    }

    @Test func aFailingGeneratorsErrorIsPassedOn() {
        let generator = FixedGenerator(reseedingEveryDraw: true)
        var source = scep_padding_source()
        scep_padding_source_init(&source, generator.drbg)
        defer { scep_padding_source_free(&source) }
        var byte: UInt8 = 0
        #expect(scep_padding_random(&source, &byte, 1) == 0)
        // The pool still holds 255 bytes: they are served without asking the generator again.
        generator.entropyFails = true
        var rest = [UInt8](repeating: 0, count: 255)
        #expect(scep_padding_random(&source, &rest, rest.count) == 0)
        // The next byte needs a draw, and the generator's reseed fails: its error comes back.
        #expect(scep_padding_random(&source, &byte, 1) == MBEDTLS_ERR_CTR_DRBG_ENTROPY_SOURCE_FAILED)
    }
}
