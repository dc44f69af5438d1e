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
    let key: RSAPrivateKey
    let certificate: Certificate
    let keyPath: String
    let certPath: String

    init(random: RandomGenerator, subject: String = "CN=device,O=Acme") throws {
        key = try RSAPrivateKey.generate(bits: 2048, random: random)
        let der = try SelfSignedCertificate.make(subject: try DistinguishedName(rfc4514: subject), key: key,
                                                 now: Int64(Date().timeIntervalSince1970), random: random)
        certificate = try Certificate(der: der)
        let directory = try scratchDirectory("identity")
        keyPath = directory.appendingPathComponent("key.pem").path
        certPath = directory.appendingPathComponent("cert.pem").path
        let keyDER = try key.pkcs1DER().withBytes { Array($0) }
        try Data(PEM.encode(keyDER, label: "RSA PRIVATE KEY").utf8).write(to: URL(fileURLWithPath: keyPath))
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
        let envelope = try EnvelopedData.build(content: content, recipient: recipient, cipher: cipher, random: Self.random)
        let result = try OpenSSL.run(["cms", "-decrypt", "-inform", "DER", "-recip", Self.ca.certPath, "-inkey", Self.ca.keyPath],
                                     input: Data(envelope))
        #expect(result.status == 0, "\(result.error)")
        #expect(result.output.bytes == content)
    }

    @Test(arguments: [DigestAlgorithm.sha256, .sha512])
    func openSSLVerifiesWhatWeSign(digest: DigestAlgorithm) throws {
        let signer = CMSSigner(key: Self.device.key, certificate: Self.device.certificate, digest: digest)
        let extra = Attribute(OID.scepMessageType, DER.printableString("19"))
        let signed = try SignedData.build(content: content, signer: signer, attributes: [extra], random: Self.random)
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
        let parsed = try SignedData(der: made.output.bytes, context: "test")
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
        let opened = try EnvelopedData.open(made.output.bytes, key: Self.device.key, certificate: Self.device.certificate,
                                            random: Self.random, context: "test")
        #expect(opened.content == content)
        #expect(opened.cipher == cipher)
    }

    @Test func weOpenSingleDESWhichMicromdmSends() throws {
        let made = try OpenSSL.run(["cms", "-encrypt", "-binary", "-des", "-provider", "legacy", "-provider", "default",
                                    "-outform", "DER", Self.device.certPath], input: Data(content))
        try #require(made.status == 0, "openssl lacks the legacy provider: \(made.error)")
        let opened = try EnvelopedData.open(made.output.bytes, key: Self.device.key, certificate: Self.device.certificate,
                                            random: Self.random, context: "test")
        #expect(opened.content == content && opened.cipher == .desCBC && opened.cipher.isWeak)
    }

    @Test func certificatesOnlyBothWays() throws {
        let ours = SignedData.certificatesOnly([Self.ca.certDER, Self.device.certificate.der])
        let printed = try OpenSSL.run(["pkcs7", "-inform", "DER", "-print_certs", "-noout"], input: Data(ours))
        #expect(printed.status == 0, "\(printed.error)")
        #expect(printed.text.contains("CN = Test CA") && printed.text.contains("CN = device"))

        let theirs = try OpenSSL.run(["crl2pkcs7", "-nocrl", "-certfile", Self.ca.certPath, "-certfile", Self.device.certPath, "-outform", "DER"])
        let parsed = try SignedData(der: theirs.output.bytes, context: "test")
        #expect(parsed.certificates.count == 2 && parsed.signers.isEmpty && parsed.content == nil)
    }
}

@Suite(.serialized) struct CMSRejectionTests {
    nonisolated(unsafe) static let random = try! RandomGenerator()
    nonisolated(unsafe) static let device = try! Identity(random: random)
    nonisolated(unsafe) static let stranger = try! Identity(random: random, subject: "CN=stranger")

    func signed(_ content: [UInt8]) throws -> [UInt8] {
        try SignedData.build(content: content, signer: CMSSigner(key: Self.device.key, certificate: Self.device.certificate, digest: .sha256),
                             attributes: [], random: Self.random)
    }

    func verifyError(_ bytes: [UInt8], with certificate: Certificate) -> CMSError? {
        do throws(CMSError) {
            let parsed = try SignedData(der: bytes, context: "test")
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
        let envelope = try EnvelopedData.build(content: [9, 9, 9], recipient: Self.stranger.certificate, cipher: .aes128CBC, random: Self.random)
        #expect(throws: CMSError.self) {
            try EnvelopedData.open(envelope, key: Self.device.key, certificate: Self.device.certificate, random: Self.random, context: "test")
        }
    }

    @Test func everyTruncationIsAnErrorNotACrash() throws {
        let message = try signed(Array(repeating: 7, count: 40))
        for length in stride(from: 0, to: message.count, by: 1) {
            #expect(throws: CMSError.self) { try SignedData(der: Array(message.prefix(length)), context: "test") }
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
        var reader = try DERReader(bytes, context: "t")
        return try reader.read()
    }

    @Test(arguments: [DERTag.octetString, DERTag.contextPrimitive(0)])
    func primitiveAndChunkedReadTheSame(tag: UInt8) throws {
        let primitive = DER.tlv(tag, [1, 2, 3, 4])
        let chunked = DER.tlv(tag | 0x20, [DER.octetString([1, 2]), DER.octetString([3, 4])])
        #expect(try octetStringAllowingChunks(try element(primitive), primitiveTag: tag, "t") == [1, 2, 3, 4])
        #expect(try octetStringAllowingChunks(try element(chunked), primitiveTag: tag, "t") == [1, 2, 3, 4])
        #expect(throws: DERError.self) { try octetStringAllowingChunks(try element(DER.integer(5)), primitiveTag: tag, "t") }
        let nested = DER.tlv(tag | 0x20, [DER.tlv(DERTag.octetString | 0x20, [DER.octetString([1])])])
        #expect(throws: DERError.self) { try octetStringAllowingChunks(try element(nested), primitiveTag: tag, "t") }
    }
}
