import Foundation
import Testing
@testable import CMS
import ASN1
import Crypto
import Encoding
import X509
import TestSupport

/// A device identity made by our own code: key, self-signed certificate, and both as PEM files
/// so openssl can use them.
struct Identity {
    let key: SoftwareKey
    let certificate: Certificate
    let keyPath: String
    let certPath: String

    init(random: RandomGenerator, subject: String = "CN=device,O=Acme", type: KeyType = .rsa(bits: 2048)) throws {
        key = try SoftwareKey.generate(type, random: random)
        let der = try SelfSignedCertificate.make(subject: try DistinguishedName(rfc4514: subject), key: key,
                                                 now: Int64(Date().timeIntervalSince1970), random: random)
        certificate = try Certificate(der: der)
        let directory = try scratchDirectory("identity")
        keyPath = directory.appendingPathComponent("key.pem").path
        certPath = directory.appendingPathComponent("cert.pem").path
        let keyDER = try key.privateKeyDER().withBytes { Array($0) }
        try Data(PEM.encode(keyDER, label: key.pemLabel).utf8).write(to: URL(fileURLWithPath: keyPath))
        try Data(PEM.encode(der, label: "CERTIFICATE").utf8).write(to: URL(fileURLWithPath: certPath))
    }
}

@Suite(.serialized) struct CMSInteropTests {
    nonisolated(unsafe) static let random = try! RandomGenerator()
    nonisolated(unsafe) static let device = try! Identity(random: random)
    nonisolated(unsafe) static let ca = try! OpenSSLCA()

    let content: [UInt8] = Array("PKCS#10 request bytes, long enough to span several cipher blocks".utf8)

    @Test(arguments: [ContentCipher.aes128CBC, .aes256CBC, .desEDE3CBC])
    func openSSLDecryptsWhatWeEnvelope(cipher: ContentCipher) throws {
        let recipient = try Certificate(der: Self.ca.certDER)
        let envelope = try EnvelopedData.build(content: SecretBytes(content), to: .certificate(recipient), cipher: cipher, random: Self.random)
        let result = try OpenSSL.run(["cms", "-decrypt", "-inform", "DER", "-recip", Self.ca.certPath, "-inkey", Self.ca.keyPath],
                                     input: Data(envelope))
        #expect(result.status == 0, "\(result.error)")
        #expect(result.output.bytes == content)
    }

    @Test(arguments: [DigestAlgorithm.sha256, .sha512])
    func openSSLVerifiesWhatWeSign(digest: DigestAlgorithm) throws {
        let signer = CMSSigner(key: Self.device.key, certificate: Self.device.certificate, digest: digest)
        let extra = Attribute(OID.scepMessageType) { $0.writePrintableString("19") }
        let signed = try SignedData.build(content: content, signer: signer, attributes: [extra])
        let result = try OpenSSL.run(["cms", "-verify", "-inform", "DER", "-CAfile", Self.device.certPath, "-purpose", "any"],
                                     input: Data(signed))
        #expect(result.status == 0, "\(result.error)")
        #expect(result.output.bytes == content)
        let printed = try OpenSSL.run(["cms", "-cmsout", "-print", "-inform", "DER"], input: Data(signed)).text
        #expect(printed.contains(digest == .sha256 ? "sha256" : "sha512"))
        #expect(printed.contains("2.16.840.1.113733.1.9.2"))
    }

    @Test func weVerifyWhatOpenSSLSigns() throws {
        let directory = try scratchDirectory("cms")
        let input = directory.appendingPathComponent("content").path
        try Data(content).write(to: URL(fileURLWithPath: input))
        let made = try OpenSSL.run(["cms", "-sign", "-nodetach", "-binary", "-md", "sha256", "-in", input, "-signer", Self.device.certPath,
                                    "-inkey", Self.device.keyPath, "-outform", "DER"])
        #expect(made.status == 0, "\(made.error)")
        let parsed = try SignedData(message: made.output.bytes)
        #expect(parsed.content == content)
        #expect(parsed.certificates == [Self.device.certificate])
        let signer = try #require(parsed.signers.first)
        #expect(signer.identifies(Self.device.certificate))
        let attributes = try parsed.verify(signer: Self.device.certificate, signerInfo: signer)
        #expect(attributes.value(of: OID.signingTime) != nil)
    }

    @Test(arguments: [("-aes256", ContentCipher.aes256CBC), ("-aes128", .aes128CBC), ("-des3", .desEDE3CBC)])
    func weOpenWhatOpenSSLEnvelopes(flag: String, cipher: ContentCipher) throws {
        let made = try OpenSSL.run(["cms", "-encrypt", "-binary", flag, "-outform", "DER", Self.device.certPath], input: Data(content))
        #expect(made.status == 0, "\(made.error)")
        let opened = try EnvelopedData.open(made.output.bytes, with: EnvelopedData.Keys(key: Self.device.key, certificate: Self.device.certificate))
        #expect(opened.content == content)
        #expect(opened.cipher == cipher && opened.recipient == .keyTransport)
    }

    @Test func weOpenSingleDESWhichMicromdmSends() throws {
        let made = try OpenSSL.run(["cms", "-encrypt", "-binary", "-des", "-provider", "legacy", "-provider", "default",
                                    "-outform", "DER", Self.device.certPath], input: Data(content))
        try #require(made.status == 0, "openssl lacks the legacy provider: \(made.error)")
        let opened = try EnvelopedData.open(made.output.bytes, with: EnvelopedData.Keys(key: Self.device.key, certificate: Self.device.certificate))
        #expect(opened.content == content && opened.cipher == .desCBC && opened.cipher.isWeak)
    }

    @Test func certificatesOnlyBothWays() throws {
        let ours = SignedData.certificatesOnly([Self.ca.certDER, Self.device.certificate.der])
        let printed = try OpenSSL.run(["pkcs7", "-inform", "DER", "-print_certs", "-noout"], input: Data(ours))
        #expect(printed.status == 0, "\(printed.error)")
        #expect(printed.text.contains("CN = Test CA") && printed.text.contains("CN = device"))

        let theirs = try OpenSSL.run(["crl2pkcs7", "-nocrl", "-certfile", Self.ca.certPath, "-certfile", Self.device.certPath, "-outform", "DER"])
        let parsed = try SignedData(message: theirs.output.bytes)
        #expect(parsed.certificates.count == 2 && parsed.signers.isEmpty && parsed.content == nil)
    }

    /// RFC 8894 section 3.3.2: a signed message with no content, its digest that of empty
    /// content, as openssl reads it (a detached signature over nothing).
    @Test func signedWithoutContentVerifiesBothWays() throws {
        let signer = CMSSigner(key: Self.device.key, certificate: Self.device.certificate, digest: .sha256)
        let signed = try SignedData.build(content: nil, signer: signer, attributes: [])
        let printed = try OpenSSL.run(["cms", "-cmsout", "-print", "-inform", "DER"], input: Data(signed)).text
        #expect(printed.contains("eContent: <ABSENT>"))
        let verified = try OpenSSL.run(["cms", "-verify", "-inform", "DER", "-noverify", "-content", "/dev/null", "-binary"],
                                       input: Data(signed))
        #expect(verified.status == 0, "\(verified.error)")
        let parsed = try SignedData(message: signed)
        #expect(parsed.content == nil)
        _ = try parsed.verify(signer: Self.device.certificate, signerInfo: parsed.signers[0])
    }
}

/// EC keys: what openssl signs and encrypts, we verify and open; what we sign, openssl verifies.
@Suite(.serialized) struct CMSECInteropTests {
    nonisolated(unsafe) static let random = try! RandomGenerator()
    nonisolated(unsafe) static let p256 = try! Identity(random: random, subject: "CN=ec-device", type: .ec(.p256))
    nonisolated(unsafe) static let p384 = try! Identity(random: random, subject: "CN=ec-device-384", type: .ec(.p384))

    let content: [UInt8] = Array("a certs-only bag, long enough to need several AES blocks".utf8)

    func identity(_ curve: EllipticCurve) -> Identity { curve == .p256 ? Self.p256 : Self.p384 }

    @Test(arguments: [EllipticCurve.p256, .p384])
    func openSSLVerifiesOurECDSASignedData(curve: EllipticCurve) throws {
        let device = identity(curve)
        let signer = CMSSigner(key: device.key, certificate: device.certificate, digest: device.key.type.signatureDigest)
        let signed = try SignedData.build(content: content, signer: signer, attributes: [])
        let result = try OpenSSL.run(["cms", "-verify", "-inform", "DER", "-CAfile", device.certPath, "-purpose", "any"], input: Data(signed))
        #expect(result.status == 0, "\(result.error)")
        #expect(result.output.bytes == content)
        let printed = try OpenSSL.run(["cms", "-cmsout", "-print", "-inform", "DER"], input: Data(signed)).text
        #expect(printed.contains(curve == .p256 ? "ecdsa-with-SHA256" : "ecdsa-with-SHA384"))
    }

    @Test(arguments: [EllipticCurve.p256, .p384])
    func weVerifyWhatOpenSSLSignsWithAnECKey(curve: EllipticCurve) throws {
        let device = identity(curve)
        let input = try scratchDirectory("ecsign").appendingPathComponent("content").path
        try Data(content).write(to: URL(fileURLWithPath: input))
        let made = try OpenSSL.run(["cms", "-sign", "-nodetach", "-binary", "-in", input, "-signer", device.certPath,
                                    "-inkey", device.keyPath, "-outform", "DER"])
        #expect(made.status == 0, "\(made.error)")
        let parsed = try SignedData(message: made.output.bytes)
        _ = try parsed.verify(signer: device.certificate, signerInfo: try #require(parsed.signers.first))
    }

    /// Key agreement (RFC 5753), as openssl writes it for an EC recipient and NDES answers EC clients.
    @Test(arguments: [(EllipticCurve.p256, "-aes128"), (.p256, "-aes256"), (.p384, "-aes256")])
    func weOpenWhatOpenSSLEncryptsByKeyAgreement(curve: EllipticCurve, cipherFlag: String) throws {
        let device = identity(curve)
        let made = try OpenSSL.run(["cms", "-encrypt", "-binary", cipherFlag, "-outform", "DER", device.certPath], input: Data(content))
        #expect(made.status == 0, "\(made.error)")
        let printed = try OpenSSL.run(["cms", "-cmsout", "-print", "-inform", "DER"], input: made.output).text
        #expect(printed.contains("d.kari"))
        let opened = try EnvelopedData.open(made.output.bytes, with: EnvelopedData.Keys(key: device.key, certificate: device.certificate))
        #expect(opened.content == content && opened.recipient == .keyAgreement)
        #expect(opened.keyDerivationDigest == .sha1, "openssl's default KDF digest")
    }

    /// openssl's other KDFs for key agreement: SHA-384 and SHA-512 with AES-256 wrap.
    @Test(arguments: ["ecdh_kdf_md:sha256", "ecdh_kdf_md:sha384", "ecdh_kdf_md:sha512"])
    func weOpenKeyAgreementWithOtherKDFDigests(option: String) throws {
        let device = Self.p256
        let made = try OpenSSL.run(["cms", "-encrypt", "-binary", "-aes256", "-outform", "DER", "-recip", device.certPath,
                                    "-keyopt", option], input: Data(content))
        #expect(made.status == 0, "\(made.error)")
        let opened = try EnvelopedData.open(made.output.bytes, with: EnvelopedData.Keys(key: device.key, certificate: device.certificate))
        #expect(opened.content == content && opened.keyDerivationDigest != .sha1)
    }

    /// openssl opens what our key agreement builds (the test responder's EC replies, and a
    /// request to a CA whose own key is EC).
    @Test(arguments: [EllipticCurve.p256, .p384])
    func openSSLOpensOurKeyAgreement(curve: EllipticCurve) throws {
        let device = identity(curve)
        let envelope = try EnvelopedData.build(content: SecretBytes(content), to: .certificate(device.certificate), cipher: .aes128CBC,
                                               random: Self.random)
        let result = try OpenSSL.run(["cms", "-decrypt", "-inform", "DER", "-recip", device.certPath, "-inkey", device.keyPath],
                                     input: Data(envelope))
        #expect(result.status == 0, "\(result.error)")
        #expect(result.output.bytes == content)
    }

    /// Password recipients (RFC 3211), keyed from the challenge: both directions.
    @Test(arguments: ["-aes128", "-aes256", "-des3"])
    func passwordRecipientsBothWays(cipherFlag: String) throws {
        let made = try OpenSSL.run(["cms", "-encrypt", "-binary", cipherFlag, "-outform", "DER", "-pwri_password", "s3cret-Challenge"],
                                   input: Data(content))
        #expect(made.status == 0, "\(made.error)")
        let keys = EnvelopedData.Keys(key: Self.p256.key, certificate: Self.p256.certificate, password: LocalPassword(SecretBytes(Array("s3cret-Challenge".utf8))))
        let opened = try EnvelopedData.open(made.output.bytes, with: keys)
        #expect(opened.content == content && opened.recipient == .password)
        let wrong = EnvelopedData.Keys(key: Self.p256.key, certificate: Self.p256.certificate, password: LocalPassword(SecretBytes(Array("wrong".utf8))))
        #expect(throws: CMSError.self) { try EnvelopedData.open(made.output.bytes, with: wrong) }
        let none = EnvelopedData.Keys(key: Self.p256.key, certificate: Self.p256.certificate)
        #expect(throws: CMSError.noPassword) { try EnvelopedData.open(made.output.bytes, with: none) }

        let ours = try EnvelopedData.build(content: SecretBytes(content), to: .password(SecretBytes(Array("s3cret-Challenge".utf8))),
                                           cipher: .aes128CBC, random: Self.random)
        let decrypted = try OpenSSL.run(["cms", "-decrypt", "-inform", "DER", "-pwri_password", "s3cret-Challenge"], input: Data(ours))
        #expect(decrypted.status == 0, "\(decrypted.error)")
        #expect(decrypted.output.bytes == content)
    }

    /// An EC key given only RSA key transport (micromdm's answer): the error says what was offered.
    @Test func keyTransportToAnECKeyIsRefusedClearly() throws {
        let rsa = try Identity(random: Self.random, subject: "CN=rsa")
        let made = try OpenSSL.run(["cms", "-encrypt", "-binary", "-aes128", "-outform", "DER", rsa.certPath], input: Data(content))
        #expect(throws: CMSError.notARecipient(offered: [.keyTransportToOther])) {
            try EnvelopedData.open(made.output.bytes, with: EnvelopedData.Keys(key: Self.p256.key, certificate: Self.p256.certificate))
        }
    }
}

@Suite(.serialized) struct CMSRejectionTests {
    nonisolated(unsafe) static let random = try! RandomGenerator()
    nonisolated(unsafe) static let device = try! Identity(random: random)
    nonisolated(unsafe) static let stranger = try! Identity(random: random, subject: "CN=stranger")

    func signed(_ content: [UInt8]) throws -> [UInt8] {
        try SignedData.build(content: content, signer: CMSSigner(key: Self.device.key, certificate: Self.device.certificate, digest: .sha256),
                             attributes: [])
    }

    func verifyError(_ bytes: [UInt8], with certificate: Certificate) -> CMSError? {
        do throws(CMSError) {
            let parsed = try SignedData(message: bytes)
            _ = try parsed.verify(signer: certificate, signerInfo: parsed.signers[0])
            return nil
        } catch {
            return error
        }
    }

    @Test func goodSignatureVerifies() throws {
        #expect(verifyError(try signed([1, 2, 3]), with: Self.device.certificate) == nil)
    }

    @Test func wrongSignerCertificateIsABadSignature() throws {
        #expect(verifyError(try signed([1, 2, 3]), with: Self.stranger.certificate) == .badSignature)
    }

    @Test func alteredContentIsADigestMismatch() throws {
        var bytes = try signed([1, 2, 3, 4, 5, 6, 7, 8])
        let index = try #require(findSubsequence([1, 2, 3, 4, 5, 6, 7, 8], in: bytes))
        bytes[index] ^= 0xff
        #expect(verifyError(bytes, with: Self.device.certificate) == .messageDigestMismatch)
    }

    @Test func alteredSignatureIsRefused() throws {
        var bytes = try signed([1, 2, 3])
        bytes[bytes.count - 3] ^= 0x01
        #expect(verifyError(bytes, with: Self.device.certificate) == .badSignature)
    }

    @Test func envelopeForSomeoneElseCannotBeOpened() throws {
        let envelope = try EnvelopedData.build(content: SecretBytes([9, 9, 9]), to: .certificate(Self.stranger.certificate), cipher: .aes128CBC,
                                               random: Self.random)
        #expect(throws: CMSError.self) {
            try EnvelopedData.open(envelope, with: EnvelopedData.Keys(key: Self.device.key, certificate: Self.device.certificate))
        }
    }

    @Test func everyTruncationIsAnErrorNotACrash() throws {
        let message = try signed(Array(repeating: 7, count: 40))
        for length in stride(from: 0, to: message.count, by: 1) {
            #expect(throws: CMSError.self) { try SignedData(message: Array(message.prefix(length))) }
        }
    }
}

func findSubsequence(_ needle: [UInt8], in haystack: [UInt8]) -> Int? {
    guard haystack.count >= needle.count else { return nil }
    for start in 0...(haystack.count - needle.count) where Array(haystack[start..<(start + needle.count)]) == needle { return start }
    return nil
}

@Suite struct ChunkedOctetStringTests {
    func element(_ bytes: [UInt8]) throws -> DERElement {
        var reader = DERReader(bytes)
        return try reader.read()
    }

    @Test(arguments: [DERTag.octetString, DERTag.contextPrimitive(0)])
    func primitiveAndChunkedReadTheSame(tag: UInt8) throws {
        let primitive = DER.encode { $0.writePrimitive(tag, [1, 2, 3, 4]) }
        let chunked = DER.encode { writer in
            writer.writeConstructed(tag | 0x20) { writer in
                writer.writeOctetString([1, 2])
                writer.writeOctetString([3, 4])
            }
        }
        #expect(try octetStringAllowingChunks(try element(primitive), primitiveTag: tag) == [1, 2, 3, 4])
        #expect(try octetStringAllowingChunks(try element(chunked), primitiveTag: tag) == [1, 2, 3, 4])
        #expect(throws: DERError.self) { try octetStringAllowingChunks(try element(DER.encode { $0.writeInteger(5) }), primitiveTag: tag) }
        let nested = DER.encode { writer in
            writer.writeConstructed(tag | 0x20) { writer in
                writer.writeConstructed(DERTag.octetString | 0x20) { $0.writeOctetString([1]) }
            }
        }
        #expect(throws: DERError.self) { try octetStringAllowingChunks(try element(nested), primitiveTag: tag) }
    }
}
