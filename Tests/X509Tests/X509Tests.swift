import Foundation
import Testing
@testable import X509
import ASN1
import Crypto
import TestSupport

@Suite(.serialized) struct CertificateTests {
    nonisolated(unsafe) static let random = try! RandomGenerator()
    nonisolated(unsafe) static let key = try! RSAPrivateKey.generate(bits: 2048, random: random)

    @Test func parsesAnOpenSSLCertificate() throws {
        let ca = try OpenSSLCA()
        let certificate = try Certificate(der: ca.certDER)
        #expect(certificate.subject.value(of: OID.commonName) == "Test CA")
        #expect(certificate.isSelfIssued && certificate.isCA)
        #expect(certificate.keyUsage?.contains(.keyCertSign) == true)
        #expect(certificate.keyUsage?.contains(.keyEncipherment) == true)
        #expect(certificate.keyUsage?.contains(.nonRepudiation) == false)
        #expect(certificate.notAfter - certificate.notBefore == 30 * 86_400)
        #expect(certificate.isSigned(by: certificate))
        let fingerprint = try OpenSSL.run(["x509", "-in", ca.certPath, "-noout", "-fingerprint", "-sha256"]).text
        let ours = certificate.sha256Fingerprint.map { String(format: "%02X", $0) }.joined(separator: ":")
        #expect(fingerprint.contains(ours))
    }

    @Test func chainsThroughAnIntermediateAndRefusesStrangers() throws {
        let root = try OpenSSLCA(subject: "/CN=Root")
        let (intermediateDER, intermediateKey) = try root.issue(subject: "/CN=Intermediate", extensions: "basicConstraints=critical,CA:TRUE")
        let intermediate = try Certificate(der: intermediateDER)
        // Issue a leaf from the intermediate with openssl directly.
        let dir = root.directory.path
        let intermediatePEM = dir + "/intermediate.pem"
        try OpenSSL.run(["x509", "-inform", "DER", "-out", intermediatePEM], input: Data(intermediateDER))
        try OpenSSL.run(["req", "-new", "-newkey", "rsa:2048", "-nodes", "-keyout", dir + "/leaf.key", "-out", dir + "/leaf.csr", "-subj", "/CN=leaf"])
        let signed = try OpenSSL.run(["x509", "-req", "-in", dir + "/leaf.csr", "-CA", intermediatePEM, "-CAkey", intermediateKey,
                                      "-CAcreateserial", "-days", "1", "-outform", "DER"])
        let leaf = try Certificate(der: signed.output.bytes)
        let anchor = try Certificate(der: root.certDER)

        let now = Int64(Date().timeIntervalSince1970)
        let path = try ChainVerification.verify(leaf, anchor: anchor, intermediates: [intermediate], now: now)
        #expect(path.map { $0.subject.value(of: OID.commonName) } == ["leaf", "Intermediate", "Root"])
        #expect(throws: ChainError.self) { try ChainVerification.verify(leaf, anchor: anchor, intermediates: [], now: now) }
        let stranger = try Certificate(der: try OpenSSLCA(subject: "/CN=Root").certDER)
        #expect(throws: ChainError.self) {
            try ChainVerification.verify(leaf, anchor: stranger, intermediates: [intermediate], now: now)
        }
        #expect(throws: ChainError.expired(subject: "CN=leaf")) {
            try ChainVerification.verify(leaf, anchor: anchor, intermediates: [intermediate], now: now + 3 * 86_400)
        }
    }

    @Test func tamperedSignatureIsRefused() throws {
        let ca = try OpenSSLCA()
        var bytes = ca.certDER
        bytes[bytes.count - 5] ^= 0x01
        let tampered = try Certificate(der: bytes)
        #expect(!tampered.isSigned(by: try Certificate(der: ca.certDER)))
    }

    @Test func csrVerifiesWithOpenSSLAndCarriesTheChallenge() throws {
        var builder = CertificationRequestBuilder(subject: try DistinguishedName(rfc4514: "CN=dev-0042,O=Acme"))
        builder.extensions = [
            .subjectAltName([.dns("dev-0042.example"), .ipAddress([192, 0, 2, 1])]),
            .keyUsage([.digitalSignature, .keyEncipherment]),
            .extendedKeyUsage([OID.clientAuth]),
        ]
        let der = try builder.build(key: Self.key, challenge: SecretBytes(Array("s3cret-Challenge".utf8)), random: Self.random)
        let checked = try OpenSSL.run(["req", "-inform", "DER", "-verify", "-noout", "-text"], input: Data(der))
        #expect(checked.status == 0, "\(checked.error)")
        #expect(checked.error.contains("verify OK") || checked.text.contains("verify OK"))
        #expect(checked.text.contains("challengePassword"))
        #expect(checked.text.contains("s3cret-Challenge"))
        #expect(checked.text.contains("DNS:dev-0042.example"))
        #expect(checked.text.contains("IP Address:192.0.2.1"))
        #expect(checked.text.contains("TLS Web Client Authentication"))
        #expect(checked.text.contains("Subject: O = Acme, CN = dev-0042"))

        let parsed = try CertificationRequest(der: der)
        #expect(parsed.verifySignature())
        #expect(parsed.challengePassword == Array("s3cret-Challenge".utf8))
        #expect(parsed.publicKeyInfo == (try Self.key.publicKeyInfoDER()))
    }

    @Test func selfSignedSignerMatchesKeyAndSubject() throws {
        let subject = try DistinguishedName(rfc4514: "CN=dev-0042,O=Acme")
        let der = try SelfSignedCertificate.make(subject: subject, key: Self.key, now: 1_800_000_000, random: Self.random)
        let certificate = try Certificate(der: der)
        #expect(certificate.subject == subject && certificate.isSelfIssued)
        #expect(certificate.isSigned(by: certificate))
        #expect(certificate.notBefore == 1_800_000_000 - 3600)
        #expect(certificate.keyUsage == [.digitalSignature, .keyEncipherment])
        #expect(Self.key.matches(publicKeyInfo: certificate.publicKeyInfo))
        let text = try OpenSSL.run(["x509", "-inform", "DER", "-noout", "-text"], input: Data(der))
        #expect(text.status == 0)
        #expect(text.text.contains("Digital Signature, Key Encipherment"))
        let directory = try scratchDirectory("selfsigned")
        let pem = directory.appendingPathComponent("signer.pem").path
        try OpenSSL.run(["x509", "-inform", "DER", "-out", pem], input: Data(der))
        let verified = try OpenSSL.run(["verify", "-no_check_time", "-CAfile", pem, pem])
        #expect(verified.status == 0, "\(verified.error)")
    }
}

@Suite struct TimeTests {
    @Test func roundTripsAcrossTheUTCTimeBoundary() throws {
        for seconds: Int64 in [0, 951_782_400, 1_800_000_000, 2_524_608_000, 4_102_444_800] {
            var reader = try DERReader(DERTime.encode(seconds), context: "t")
            #expect(try DERTime.parse(try reader.read(), context: "t") == seconds)
        }
        #expect(DERTime.encode(2_524_608_000).first == DERTag.generalizedTime) // 2050-01-01
        #expect(DERTime.iso8601(951_782_400) == "2000-02-29T00:00:00Z")
    }

    @Test func rejectsMalformedTimes() throws {
        for text in ["2601011200Z", "260101120000", "261301120000Z", "2601011260a0Z"] {
            var reader = try DERReader(DER.tlv(DERTag.utcTime, Array(text.utf8)), context: "t")
            let element = try reader.read()
            #expect(throws: DERError.self) { try DERTime.parse(element, context: "t") }
        }
    }
}
