import Foundation
import Testing
@testable import X509
import ASN1
import Crypto
import TestSupport

@Suite(.serialized) struct CertificateTests {
    nonisolated(unsafe) static let random = try! RandomGenerator()
    nonisolated(unsafe) static let key = try! SoftwareKey.generate(.rsa(bits: 2048), random: random)

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
        let path = try PathValidation.validate(leaf, anchor: anchor, intermediates: [intermediate], now: now)
        #expect(path.map { $0.subject.value(of: OID.commonName) } == ["leaf", "Intermediate", "Root"])
        #expect(throws: PathError.self) { try PathValidation.validate(leaf, anchor: anchor, intermediates: [], now: now) }
        let stranger = try Certificate(der: try OpenSSLCA(subject: "/CN=Root").certDER)
        #expect(throws: PathError("CN=leaf", .noPath)) {
            try PathValidation.validate(leaf, anchor: stranger, intermediates: [intermediate], now: now)
        }
        #expect(throws: PathError("CN=leaf", .expired(notAfter: leaf.notAfter))) {
            try PathValidation.validate(leaf, anchor: anchor, intermediates: [intermediate], now: now + 3 * 86_400)
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
        let der = try builder.build(key: Self.key, challenge: SecretBytes(Array("s3cret-Challenge".utf8)), digest: .sha256)
            .withBytes { Array($0) }
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
        #expect(parsed.publicKeyInfo == Self.key.publicKeyInfo)
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

@Suite(.serialized) struct ECCertificateTests {
    nonisolated(unsafe) static let random = try! RandomGenerator()

    @Test(arguments: [EllipticCurve.p256, .p384])
    func ecdsaRequestsAndSignersVerifyWithOpenSSL(curve: EllipticCurve) throws {
        let key = try SoftwareKey.generate(.ec(curve), random: Self.random)
        let subject = try DistinguishedName(rfc4514: "CN=ec-device,O=Acme")
        let csr = try CertificationRequestBuilder(subject: subject).build(key: key, challenge: SecretBytes(Array("pw".utf8)),
                                                                           digest: key.type.signatureDigest).withBytes { Array($0) }
        let checked = try OpenSSL.run(["req", "-inform", "DER", "-verify", "-noout", "-text"], input: Data(csr))
        #expect(checked.status == 0, "\(checked.error)")
        #expect(checked.text.contains(curve == .p256 ? "ecdsa-with-SHA256" : "ecdsa-with-SHA384"))
        #expect(checked.text.contains(curve == .p256 ? "P-256" : "P-384"))
        #expect(try CertificationRequest(der: csr).verifySignature())

        let signer = try SelfSignedCertificate.make(subject: subject, key: key, now: Int64(Date().timeIntervalSince1970), random: Self.random)
        let certificate = try Certificate(der: signer)
        #expect(certificate.keyType == .ec(curve) && certificate.isSigned(by: certificate))
        #expect(certificate.keyUsage == [.digitalSignature, .keyAgreement])
        let pem = try scratchDirectory("ecsigner").appendingPathComponent("signer.pem").path
        try OpenSSL.run(["x509", "-inform", "DER", "-out", pem], input: Data(signer))
        let verified = try OpenSSL.run(["verify", "-CAfile", pem, pem])
        #expect(verified.status == 0, "\(verified.error)")
    }

    @Test func weReadAnOpenSSLECCertificate() throws {
        let ca = try OpenSSLCA()
        let (der, _) = try ca.issue(subject: "/CN=ec-leaf", extensionList: [], newkey: ["ec", "-pkeyopt", "ec_paramgen_curve:P-384"])
        let leaf = try Certificate(der: der)
        #expect(leaf.keyType == .ec(.p384))
        #expect(leaf.isSigned(by: try Certificate(der: ca.certDER)))
    }
}

/// RFC 5280 section 6, the part a device needs, against certificates openssl made.
@Suite(.serialized) struct PathValidationTests {
    var now: Int64 { Int64(Date().timeIntervalSince1970) }

    /// The attack the trust issue reproduced: a device's certificate (CA:FALSE) signs an "RA".
    @Test func anIssuerThatIsNotACAIsRefusedByName() throws {
        let root = try OpenSSLCA(subject: "/CN=Pinned CA")
        let device = try root.subordinate(subject: "/CN=Some Device", extensionList: [
            "basicConstraints=critical,CA:FALSE", "keyUsage=critical,digitalSignature,keyEncipherment"])
        let (fakeRA, _) = try device.issue(subject: "/CN=Fake RA", extensionList: ["keyUsage=critical,digitalSignature,keyEncipherment"])
        let anchor = try Certificate(der: root.certDER)
        #expect(throws: PathError("CN=Fake RA", .issuerNotCA(issuer: "CN=Some Device"))) {
            try PathValidation.validate(try Certificate(der: fakeRA), anchor: anchor, intermediates: [try Certificate(der: device.certDER)],
                                        now: now)
        }
        // The device's own certificate is fine as what it is: an end entity under the CA.
        #expect(try PathValidation.validate(try Certificate(der: device.certDER), anchor: anchor, intermediates: [], now: now).count == 2)
    }

    @Test func anIssuerWithoutBasicConstraintsIsNotACA() throws {
        let root = try OpenSSLCA(subject: "/CN=Pinned CA")
        let noConstraints = try root.subordinate(subject: "/CN=Unmarked", extensionList: ["keyUsage=critical,keyCertSign"])
        let (leaf, _) = try noConstraints.issue(subject: "/CN=leaf", extensionList: [])
        #expect(throws: PathError("CN=leaf", .issuerNotCA(issuer: "CN=Unmarked"))) {
            try PathValidation.validate(try Certificate(der: leaf), anchor: try Certificate(der: root.certDER),
                                        intermediates: [try Certificate(der: noConstraints.certDER)], now: now)
        }
    }

    @Test func anIssuerNeedsKeyCertSignWhenItHasKeyUsage() throws {
        let root = try OpenSSLCA(subject: "/CN=Pinned CA")
        let intermediate = try root.subordinate(subject: "/CN=No Cert Sign", extensionList: [
            "basicConstraints=critical,CA:TRUE", "keyUsage=critical,digitalSignature,cRLSign"])
        let (leaf, _) = try intermediate.issue(subject: "/CN=leaf", extensionList: [])
        #expect(throws: PathError("CN=leaf", .issuerLacksKeyCertSign(issuer: "CN=No Cert Sign"))) {
            try PathValidation.validate(try Certificate(der: leaf), anchor: try Certificate(der: root.certDER),
                                        intermediates: [try Certificate(der: intermediate.certDER)], now: now)
        }
        // The pinned CA obeys the same rule.
        let signOnly = try OpenSSLCA(subject: "/CN=Pinned Signer", keyUsage: "critical,digitalSignature")
        let (direct, _) = try signOnly.issue(subject: "/CN=leaf", extensionList: [])
        #expect(throws: PathError("CN=leaf", .issuerLacksKeyCertSign(issuer: "CN=Pinned Signer"))) {
            try PathValidation.validate(try Certificate(der: direct), anchor: try Certificate(der: signOnly.certDER),
                                        intermediates: [], now: now)
        }
    }

    @Test func pathLengthConstraintsAreHonoured() throws {
        let root = try OpenSSLCA(subject: "/CN=Pinned CA")
        let first = try root.subordinate(subject: "/CN=First", extensionList: [
            "basicConstraints=critical,CA:TRUE,pathlen:0", "keyUsage=critical,keyCertSign"])
        let second = try first.subordinate(subject: "/CN=Second", extensionList: [
            "basicConstraints=critical,CA:TRUE", "keyUsage=critical,keyCertSign"])
        let (leaf, _) = try second.issue(subject: "/CN=leaf", extensionList: [])
        let intermediates = [try Certificate(der: first.certDER), try Certificate(der: second.certDER)]
        #expect(throws: PathError("CN=Second", .pathLengthExceeded(issuer: "CN=First", limit: 0))) {
            try PathValidation.validate(try Certificate(der: leaf), anchor: try Certificate(der: root.certDER),
                                        intermediates: intermediates, now: now)
        }
        // pathlen:0 still lets the intermediate issue end entities.
        let (direct, _) = try first.issue(subject: "/CN=direct", extensionList: [])
        #expect(try PathValidation.validate(try Certificate(der: direct), anchor: try Certificate(der: root.certDER),
                                            intermediates: intermediates, now: now).count == 3)
    }

    @Test func anUnknownCriticalExtensionMakesACertificateUnusable() throws {
        let root = try OpenSSLCA(subject: "/CN=Pinned CA")
        let (leaf, _) = try root.issue(subject: "/CN=odd", extensionList: ["1.3.6.1.4.1.55555.1=critical,ASN1:UTF8String:must understand"])
        let certificate = try Certificate(der: leaf)
        #expect(throws: PathError("CN=odd", .unrecognizedCriticalExtension(ObjectIdentifier([1, 3, 6, 1, 4, 1, 55555, 1])))) {
            try PathValidation.validate(certificate, anchor: try Certificate(der: root.certDER), intermediates: [], now: now)
        }
        // The same extension, not critical, is ignored as RFC 5280 says.
        let (tolerated, _) = try root.issue(subject: "/CN=fine", extensionList: ["1.3.6.1.4.1.55555.1=ASN1:UTF8String:optional"])
        #expect(try PathValidation.validate(try Certificate(der: tolerated), anchor: try Certificate(der: root.certDER),
                                            intermediates: [], now: now).count == 2)
    }

    @Test func theErrorReadsAsARuleAndACertificate() {
        let error = PathError("CN=Fake RA", .issuerNotCA(issuer: "CN=Some Device"))
        #expect("\(error)" == "certificate 'CN=Fake RA' cannot be trusted: its issuer 'CN=Some Device' is not a CA (basicConstraints cA is not TRUE)")
    }

    @Test func aCertificateWithTheSameExtensionTwiceDoesNotParse() throws {
        let ca = try TestCA()
        let key = try SoftwareKey.generate(.rsa(bits: 2048), random: ca.random)
        #expect(throws: DERError.self) {
            try ca.issue(subject: try DistinguishedName(rfc4514: "CN=twice"), publicKeyInfo: key.publicKeyInfo,
                         extensions: [.keyUsage([.digitalSignature]), .keyUsage([.keyCertSign])])
        }
    }
}

@Suite struct TimeTests {
    @Test func roundTripsAcrossTheUTCTimeBoundary() throws {
        for seconds: Int64 in [0, 951_782_400, 1_800_000_000, 2_524_608_000, 4_102_444_800] {
            var reader = DERReader(DERTime.encode(seconds))
            #expect(try DERTime.parse(try reader.read()) == seconds)
        }
        #expect(DERTime.encode(2_524_608_000).first == DERTag.generalizedTime) // 2050-01-01
        #expect(DERTime.iso8601(951_782_400) == "2000-02-29T00:00:00Z")
    }

    @Test func rejectsMalformedTimes() throws {
        for text in ["2601011200Z", "260101120000", "261301120000Z", "2601011260a0Z"] {
            var reader = DERReader(DER.encode { $0.writePrimitive(DERTag.utcTime, Array(text.utf8)) })
            let element = try reader.read()
            #expect(throws: DERError.self) { try DERTime.parse(element) }
        }
    }
}
