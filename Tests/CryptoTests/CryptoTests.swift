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
    nonisolated(unsafe) static let key = try! SoftwareKey.generate(.rsa(bits: 2048), random: random)

    @Test func signVerifyAndTamper() throws {
        let digest = DigestAlgorithm.sha256.hash(Array("message".utf8))
        let signature = try Self.key.sign(digest: digest, algorithm: .sha256)
        let publicKey = try PublicKey(publicKeyInfo: Self.key.publicKeyInfo)
        #expect(publicKey.type == .rsa(bits: 2048))
        #expect(publicKey.verify(signature: signature, digest: digest, algorithm: .sha256))
        var tampered = signature
        tampered[10] ^= 1
        #expect(!publicKey.verify(signature: tampered, digest: digest, algorithm: .sha256))
        #expect(!publicKey.verify(signature: signature, digest: DigestAlgorithm.sha256.hash([1]), algorithm: .sha256))
    }

    @Test func encryptDecryptRoundTrip() throws {
        let publicKey = try PublicKey(publicKeyInfo: Self.key.publicKeyInfo)
        let secret = SecretBytes(try Self.random.bytes(32))
        let ciphertext = try publicKey.encrypt(secret, random: Self.random)
        #expect(ciphertext.count == 256)
        let recovered = try Self.key.decrypt(ciphertext)
        #expect(secret.withBytes { recovered.constantTimeEquals(Array($0)) })
        #expect(throws: CryptoError(.keyType(expected: "EC"))) { try Self.key.agree(peerPoint: [4] + [UInt8](repeating: 1, count: 64)) }
    }

    @Test func privateKeyDERRoundTrip() throws {
        let der = try Self.key.privateKeyDER()
        let parsed = try SoftwareKey.parse(der, random: Self.random)
        #expect(parsed.publicKeyInfo == Self.key.publicKeyInfo)
        #expect(Self.key.matches(publicKeyInfo: parsed.publicKeyInfo))
        #expect(parsed.pemLabel == "RSA PRIVATE KEY")
    }

    @Test func garbageKeysAreRefused() {
        #expect(throws: CryptoError.self) { try SoftwareKey.parse(SecretBytes([0x30, 0x03, 0x02, 0x01, 0x00]), random: Self.random) }
        #expect(throws: CryptoError.self) { try PublicKey(publicKeyInfo: [0x30, 0x00]) }
    }
}

@Suite(.serialized) struct ECTests {
    nonisolated(unsafe) static let random = try! RandomGenerator()

    @Test(arguments: [EllipticCurve.p256, .p384])
    func signVerifyAndRoundTrip(curve: EllipticCurve) throws {
        let key = try SoftwareKey.generate(.ec(curve), random: Self.random)
        #expect(key.type == .ec(curve))
        #expect(key.pemLabel == "EC PRIVATE KEY")
        let digest = key.type.signatureDigest
        let hash = digest.hash(Array("message".utf8))
        let signature = try key.sign(digest: hash, algorithm: digest)
        #expect(signature.first == 0x30, "an ECDSA-Sig-Value SEQUENCE")
        let publicKey = try PublicKey(publicKeyInfo: key.publicKeyInfo)
        #expect(publicKey.type == .ec(curve))
        #expect(publicKey.verify(signature: signature, digest: hash, algorithm: digest))
        #expect(!publicKey.verify(signature: signature, digest: digest.hash([1]), algorithm: digest))
        let parsed = try SoftwareKey.parse(try key.privateKeyDER(), random: Self.random)
        #expect(parsed.publicKeyInfo == key.publicKeyInfo)
        #expect(throws: CryptoError(.keyType(expected: "RSA"))) { try key.decrypt([1, 2, 3]) }
        #expect(throws: CryptoError.self) { try publicKey.encrypt(SecretBytes([1]), random: Self.random) }
    }

    @Test(arguments: [EllipticCurve.p256, .p384])
    func bothSidesOfECDHAgree(curve: EllipticCurve) throws {
        let alice = try SoftwareKey.generate(.ec(curve), random: Self.random)
        let bob = try SoftwareKey.generate(.ec(curve), random: Self.random)
        let fromAlice = try alice.agree(peerPoint: point(of: bob))
        let fromBob = try bob.agree(peerPoint: point(of: alice))
        #expect(fromAlice.count == curve.coordinateSize)
        #expect(fromBob.withBytes { fromAlice.constantTimeEquals(Array($0)) })
    }

    @Test func pointsOffTheCurveAreRefused() throws {
        let key = try SoftwareKey.generate(.ec(.p256), random: Self.random)
        var bad = try point(of: try SoftwareKey.generate(.ec(.p256), random: Self.random))
        bad[40] ^= 0x01
        #expect(throws: CryptoError.self) { try key.agree(peerPoint: bad) }
        // A P-384 point given to a P-256 key.
        let other = try point(of: try SoftwareKey.generate(.ec(.p384), random: Self.random))
        #expect(throws: CryptoError.self) { try key.agree(peerPoint: other) }
        #expect(throws: CryptoError.self) { try key.agree(peerPoint: [0x04]) }
    }

    /// The uncompressed point at the end of an EC SubjectPublicKeyInfo.
    func point(of key: PrivateKey) throws -> [UInt8] {
        let size = (key.type == .ec(.p256) ? 32 : 48) * 2 + 1
        return Array(key.publicKeyInfo.suffix(size))
    }
}

/// Known answers from Python's cryptography (an implementation that is not ours).
@Suite struct KeyDerivationTests {
    @Test func x963KnownAnswers() throws {
        let first = try KeyDerivation.x963(secret: SecretBytes(hexBytes("96c05619d56c328ab95fe84b18264b08725b85e33fd34f08")),
                                           sharedInfo: [], keyLength: 16, digest: .sha256)
        #expect(first.withBytes { hexString(Array($0)) } == "443024c3dae66b95e6f5670601558f71")
        let second = try KeyDerivation.x963(secret: SecretBytes([UInt8](repeating: 1, count: 48)),
                                            sharedInfo: Array("shared info".utf8), keyLength: 40, digest: .sha384)
        #expect(second.withBytes { hexString(Array($0)) }
                == "7bbb0cbc4ca95c0312223c2101f7a44ff98a460fc1a8df458713fd7e9169c00c12227117b41543c1")
    }

    @Test func pbkdf2KnownAnswerAndIterationLimit() throws {
        let derived = try KeyDerivation.pbkdf2(password: SecretBytes(Array("password".utf8)), salt: Array("salt".utf8), iterations: 2,
                                               keyLength: 32, digest: .sha256)
        #expect(derived.withBytes { hexString(Array($0)) } == "ae4d0c95af6b46d32d0adff928f06dd02a303f8ef3c251dfd6e2d85a95474c43")
        #expect(throws: CryptoError.self) {
            try KeyDerivation.pbkdf2(password: SecretBytes([1]), salt: [], iterations: KeyDerivation.maximumPBKDF2Iterations + 1,
                                     keyLength: 16, digest: .sha256)
        }
    }

    @Test func aesKeyWrapKnownAnswersAndTamper() throws {
        let kek = SecretBytes(hexBytes("000102030405060708090A0B0C0D0E0F"))
        let wrapped = try AESKeyWrap.wrap(SecretBytes(hexBytes("00112233445566778899AABBCCDDEEFF")), with: kek)
        #expect(hexString(wrapped) == "1fa68b0a8112b447aef34bd8fb5a7b829d3e862371d2cfe5")
        let kek256 = SecretBytes(hexBytes("000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F"))
        let wrapped192 = try AESKeyWrap.wrap(SecretBytes(hexBytes("00112233445566778899AABBCCDDEEFF0001020304050607")), with: kek256)
        #expect(hexString(wrapped192) == "a8f9bc1612c68b3ff6e6f4fbe30e71e4769c8b80a32cb8958cd5d17d6b254da1")
        let unwrapped = try AESKeyWrap.unwrap(wrapped192, with: kek256)
        #expect(unwrapped.withBytes { hexString(Array($0)) } == "00112233445566778899aabbccddeeff0001020304050607")
        var tampered = wrapped
        tampered[5] ^= 1
        #expect(throws: CryptoError(.keyUnwrap)) { try AESKeyWrap.unwrap(tampered, with: kek) }
        #expect(throws: CryptoError(.keyUnwrap)) { try AESKeyWrap.unwrap(Array(wrapped.prefix(16)), with: kek) }
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
