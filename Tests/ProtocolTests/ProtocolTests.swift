import Foundation
import Testing
@testable import Protocol
import ASN1
import CMS
import Crypto
import Encoding
import X509
import TestSupport

/// One enrollment against an in-process responder.
struct Harness {
    let responder: TestResponder
    var client: SCEPClient<InProcessTransport>
    let random: RandomGenerator
    let subject = try! DistinguishedName(rfc4514: "CN=dev-0042,O=Acme")

    init(_ fault: ResponderFault = .none, legacy: Bool = false) throws {
        let ca = try TestCA()
        responder = try TestResponder(ca: ca, fault: fault)
        responder.legacyAlgorithms = legacy
        client = SCEPClient(transport: InProcessTransport(responder: responder))
        random = try RandomGenerator()
    }

    var now: Int64 { Int64(Date().timeIntervalSince1970) }

    mutating func enrollment(allowWeak: Bool = false) throws -> Enrollment {
        let capabilities = try client.capabilities()
        let ca = try client.caCertificates(pin: responder.ca.pin, now: now)
        return try Enrollment(capabilities: capabilities, ca: ca, allowWeakCrypto: allowWeak)
    }

    mutating func enroll(key: RSAPrivateKey? = nil, challenge: String = "s3cret", renewing: Identity? = nil,
                         allowWeak: Bool = false) throws -> (EnrollmentResult, Enrollment) {
        var enrollment = try enrollment(allowWeak: allowWeak)
        let key = try key ?? RSAPrivateKey.generate(bits: 2048, random: random)
        let request = EnrollmentRequest(subject: subject, key: key, challenge: SecretBytes(Array(challenge.utf8)), renewing: renewing)
        let result = try enrollment.start(request, client: &client, now: now, random: random)
        return (result, enrollment)
    }

    /// The SCEPError an enrollment ends in, or nil if it succeeded.
    mutating func failure(challenge: String = "s3cret", allowWeak: Bool = false) -> SCEPError? {
        do {
            _ = try enroll(challenge: challenge, allowWeak: allowWeak)
            return nil
        } catch let error as SCEPError {
            return error
        } catch {
            Issue.record("unexpected error \(error)")
            return nil
        }
    }
}

func issued(_ result: EnrollmentResult) -> IssuedCertificate? {
    if case .issued(let certificate) = result { return certificate }
    return nil
}

@Suite struct EnrollmentTests {
    @Test func enrollsOverPOSTWithStrongAlgorithms() throws {
        var harness = try Harness()
        let key = try RSAPrivateKey.generate(bits: 2048, random: harness.random)
        let (result, enrollment) = try harness.enroll(key: key)
        let certificate = try #require(issued(result))
        #expect(key.matches(publicKeyInfo: certificate.certificate.publicKeyInfo))
        #expect(certificate.certificate.subject == harness.subject)
        #expect(certificate.chain == [harness.responder.ca.certificate])
        #expect(enrollment.cipher == .aes128CBC && enrollment.digest == .sha256)
        #expect(enrollment.warnings.isEmpty)
        #expect(harness.client.transport.requests.map { $0.method } == ["GET", "GET", "POST"])
        #expect(harness.responder.pkiOperations == ["19"])
    }

    @Test func acceptsSHA1AndDESRepliesWithWarnings() throws {
        var harness = try Harness(legacy: true)
        let (result, enrollment) = try harness.enroll()
        #expect(issued(result) != nil)
        #expect(enrollment.warnings.contains("the server signed its reply with SHA-1"))
        #expect(enrollment.warnings.contains("the server encrypted its reply with DES-CBC"))
    }

    @Test func usesGETWithPercentEncodedStandardBase64WithoutPOST() throws {
        var harness = try Harness(.noPOST)
        let (result, _) = try harness.enroll()
        #expect(issued(result) != nil)
        let request = try #require(harness.client.transport.requests.last)
        #expect(request.method == "GET")
        #expect(request.query.hasPrefix("operation=PKIOperation&message="))
        let message = String(request.query.dropFirst("operation=PKIOperation&message=".count))
        #expect(!message.contains("+") && !message.contains("/") && !message.contains("=") && !message.contains("\n"))
        #expect(message.removingPercentEncoding.map { Base64.decode(Array($0.utf8)) } == harness.responder.lastRequestDER)
    }

    @Test func renewsWithRenewalReqSignedByTheCurrentCertificate() throws {
        var harness = try Harness()
        let oldKey = try RSAPrivateKey.generate(bits: 2048, random: harness.random)
        let first = try #require(issued(try harness.enroll(key: oldKey).0))
        let newKey = try RSAPrivateKey.generate(bits: 2048, random: harness.random)
        let (result, _) = try harness.enroll(key: newKey, renewing: Identity(key: oldKey, certificate: first.certificate))
        let renewed = try #require(issued(result))
        #expect(newKey.matches(publicKeyInfo: renewed.certificate.publicKeyInfo))
        #expect(renewed.certificate.publicKeyInfo != first.certificate.publicKeyInfo)
        #expect(harness.responder.pkiOperations == ["19", "17"])
        let request = try SignedData(der: harness.responder.lastRequestDER, context: "t")
        #expect(request.signers.first?.identifies(first.certificate) == true)
    }

    @Test func withoutRenewalCapabilityRenewsWithPKCSReqSignedByTheCurrentCertificate() throws {
        var harness = try Harness(.noRenewal)
        let oldKey = try RSAPrivateKey.generate(bits: 2048, random: harness.random)
        let first = try #require(issued(try harness.enroll(key: oldKey).0))
        let (result, enrollment) = try harness.enroll(renewing: Identity(key: oldKey, certificate: first.certificate))
        #expect(issued(result) != nil)
        #expect(harness.responder.pkiOperations == ["19", "19"])
        #expect(enrollment.warnings.contains { $0.contains("lacks the Renewal capability") })
    }

    @Test func pollsWithCertPollUntilIssued() throws {
        var harness = try Harness(.pendingTwice)
        var (result, enrollment) = try harness.enroll()
        var polls = 0
        while case .pending(let pending) = result {
            polls += 1
            try #require(polls <= 5)
            result = try enrollment.poll(pending, client: &harness.client, now: harness.now, random: harness.random)
        }
        #expect(issued(result) != nil)
        #expect(harness.responder.pkiOperations == ["19", "20", "20"])
    }
}

@Suite struct QueryTests {
    @Test func getCertAndGetCRLByIssuerAndSerial() throws {
        var harness = try Harness()
        let key = try RSAPrivateKey.generate(bits: 2048, random: harness.random)
        let (result, _) = try harness.enroll(key: key)
        let mine = try #require(issued(result)).certificate
        var enrollment = try harness.enrollment()
        let identity = Identity(key: key, certificate: mine)
        let fetched = try enrollment.getCertificate(IssuerAndSerialNumber(mine), signer: identity, client: &harness.client,
                                                    now: harness.now, random: harness.random)
        #expect(fetched == [mine])
        let crls = try enrollment.getCRL(IssuerAndSerialNumber(mine), signer: identity, client: &harness.client,
                                         now: harness.now, random: harness.random)
        let printed = try OpenSSL.run(["crl", "-inform", "DER", "-noout", "-issuer"], input: Data(try #require(crls.first)))
        #expect(printed.status == 0 && printed.text.contains("Test SCEP CA"))
        #expect(harness.responder.pkiOperations == ["19", "21", "22"])

        let unknown = IssuerAndSerialNumber(issuerDER: mine.issuerDER, serialNumber: [0x7f])
        #expect(throws: SCEPError.serverFailure(.badCertId, text: "no such certificate")) {
            try enrollment.getCertificate(unknown, signer: identity, client: &harness.client, now: harness.now, random: harness.random)
        }
    }
}

@Suite struct CACertificateSelectionTests {
    func ra(_ ca: TestCA, _ name: String, _ usage: KeyUsage?) throws -> Certificate {
        let key = try RSAPrivateKey.generate(bits: 2048, random: ca.random)
        return try ca.issue(subject: try DistinguishedName(rfc4514: "CN=\(name)"), publicKeyInfo: try key.publicKeyInfoDER(),
                            extensions: usage.map { [CertificateExtension.keyUsage($0)] } ?? [])
    }

    @Test func picksTheRAMarkedForKeyEnciphermentAndIgnoresStrangers() throws {
        let ca = try TestCA()
        let signing = try ra(ca, "RA signing", [.digitalSignature])
        let encryption = try ra(ca, "RA encryption", [.keyEncipherment])
        let stranger = try ra(try TestCA(subject: "CN=Other"), "RA stranger", [.keyEncipherment])
        let bag = SignedData.certificatesOnly([signing.der, ca.certificate.der, stranger.der, encryption.der])
        let response = SCEPResponse(status: 200, contentType: "application/x-x509-ca-ra-cert", body: bag)
        let set = try CACertificates(response: response, pin: ca.pin, now: Int64(Date().timeIntervalSince1970))
        #expect(set.anchor == ca.certificate)
        #expect(set.others == [signing, encryption])
        #expect(set.ignored == 1)
        #expect(set.encryptionRecipient == encryption)
    }

    @Test func fallsBackToAnUnmarkedRAThenToTheCA() throws {
        let ca = try TestCA()
        let unmarked = try ra(ca, "RA", nil)
        let withRA = try CACertificates(certificates: [ca.certificate, unmarked], pin: ca.pin, now: nil)
        #expect(withRA.encryptionRecipient == unmarked)
        let alone = try CACertificates(certificates: [ca.certificate], pin: ca.pin, now: nil)
        #expect(alone.encryptionRecipient == ca.certificate)
    }

    @Test func acceptsPEMAndMislabelledBodies() throws {
        let ca = try TestCA()
        let pem = SCEPResponse(status: 200, contentType: "text/plain", body: Array(PEM.encode(ca.certificate.der, label: "CERTIFICATE").utf8))
        #expect(try CACertificates.parse(pem) == [ca.certificate])
        let bagAsSingle = SCEPResponse(status: 200, contentType: "application/x-x509-ca-cert",
                                       body: SignedData.certificatesOnly([ca.certificate.der]))
        #expect(try CACertificates.parse(bagAsSingle) == [ca.certificate])
        #expect(throws: SCEPError.self) { try CACertificates.parse(SCEPResponse(status: 200, contentType: "", body: [0x30, 0x03, 1, 2, 3])) }
    }
}

@Suite struct NextCATests {
    @Test(arguments: [ResponderFault.none, .badSignature, .foreignSigner])
    func nextCAIsAcceptedOnlyWhenSignedByTheCurrentCA(fault: ResponderFault) throws {
        var harness = try Harness(fault)
        let next = try TestCA(subject: "CN=Next SCEP CA")
        harness.responder.nextCA = next
        let ca = try harness.client.caCertificates(pin: harness.responder.ca.pin, now: harness.now)
        if fault == .none {
            #expect(try harness.client.nextCACertificates(current: ca, now: harness.now) == [next.certificate])
        } else {
            #expect(throws: SCEPError.self) { try harness.client.nextCACertificates(current: ca, now: harness.now) }
        }
    }

    @Test func noNextCAIsNil() throws {
        var harness = try Harness()
        let ca = try harness.client.caCertificates(pin: harness.responder.ca.pin, now: harness.now)
        #expect(try harness.client.nextCACertificates(current: ca, now: harness.now) == nil)
    }
}

@Suite struct FaultTests {
    @Test("every bad reply is refused with the matching error", arguments: [
        (ResponderFault.badSignature, "replyNotVerified"),
        (.foreignSigner, "untrusted"),
        (.wrongNonce, "recipientNonce"),
        (.wrongTransaction, "transactionID"),
        (.wrongMessageType, "messageType"),
        (.encryptedToSomeoneElse, "replyNotVerified"),
        (.issuedForOtherKey, "notOurs"),
        (.truncated, "malformed"),
        (.wrongContentType, "contentType"),
        (.http404, "http"),
        (.http500, "http"),
    ])
    func refused(fault: ResponderFault, kind: String) throws {
        var harness = try Harness(fault)
        let outcome = harness.failure()
        let error = try #require(outcome)
        switch (kind, error) {
        case ("replyNotVerified", .replyNotVerified), ("untrusted", .untrustedCertificate), ("untrusted", .replyNotVerified),
             ("recipientNonce", .recipientNonceMismatch), ("transactionID", .transactionIDMismatch),
             ("messageType", .wrongMessageType("19")), ("notOurs", .issuedCertificateNotOurs), ("malformed", .malformedReply),
             ("contentType", .unexpectedContentType), ("http", .httpStatus), ("http", .caFingerprintMismatch),
             ("http", .malformedReply):
            break
        default:
            Issue.record("\(fault): expected \(kind), got \(error)")
        }
        #expect(!error.description.isEmpty && !error.description.contains("\n"))
    }

    @Test func failureIsReportedWithFailInfoAndText() throws {
        var harness = try Harness()
        let error = harness.failure(challenge: "wrong")
        #expect(error == .serverFailure(.badRequest, text: "challenge password rejected"))
        #expect(error?.description == "the server refused the request: FAILURE badRequest (transaction not permitted or supported): challenge password rejected")
    }

    @Test func replayedReplyIsRefused() throws {
        var harness = try Harness(.replay)
        #expect(harness.failure() == nil)
        #expect(harness.failure() == .transactionIDMismatch)
    }

    @Test func desOnlyServerIsRefusedUnlessWeakCryptoIsAllowed() throws {
        var harness = try Harness(.desOnlyCapabilities)
        let refusal = harness.failure()
        guard case .noUsableCipher = refusal else { Issue.record("expected noUsableCipher, got \(String(describing: refusal))"); return }
        #expect(harness.responder.pkiOperations.isEmpty)
        let (result, enrollment) = try harness.enroll(allowWeak: true)
        #expect(issued(result) != nil)
        #expect(enrollment.cipher == .desEDE3CBC)
        #expect(enrollment.warnings.contains { $0.contains("DES-EDE3-CBC") })
    }

    @Test func wrongPinIsRefusedBeforeAnyPKIOperation() throws {
        var harness = try Harness()
        var wrong = harness.responder.ca.pin
        wrong[0] ^= 0xff
        #expect {
            try harness.client.caCertificates(pin: wrong, now: harness.now)
        } throws: { error in
            guard case .caFingerprintMismatch(let expected, let found) = error as? SCEPError else { return false }
            return expected == Hex.encode(wrong) && found == [Hex.encode(harness.responder.ca.pin)]
        }
        #expect(harness.responder.pkiOperations.isEmpty)
    }

    @Test func pendingForeverStaysPending() throws {
        var harness = try Harness(.pendingForever)
        var (result, enrollment) = try harness.enroll()
        for _ in 0..<3 {
            guard case .pending(let pending) = result else { Issue.record("expected pending"); return }
            result = try enrollment.poll(pending, client: &harness.client, now: harness.now, random: harness.random)
        }
        #expect(issued(result) == nil)
    }
}

@Suite struct OutgoingMessageTests {
    /// Issue 3's acceptance check: openssl verifies our pkiMessage, decrypts it with the CA key,
    /// and the CSR inside verifies and carries the challengePassword.
    @Test func openSSLVerifiesDecryptsAndReadsOurRequest() throws {
        var harness = try Harness()
        _ = try harness.enroll(challenge: "s3cret")
        let message = harness.responder.lastRequestDER
        let directory = try scratchDirectory("pkimessage")
        let caKeyPath = directory.appendingPathComponent("ca.key").path
        let caKeyDER = try harness.responder.ca.key.pkcs1DER().withBytes { Array($0) }
        try Data(PEM.encode(caKeyDER, label: "RSA PRIVATE KEY").utf8).write(to: URL(fileURLWithPath: caKeyPath))

        let verified = try OpenSSL.run(["cms", "-verify", "-inform", "DER", "-noverify", "-outform", "DER"], input: Data(message))
        #expect(verified.status == 0, "\(verified.error)")
        #expect(verified.error.contains("Verification successful"))
        let decrypted = try OpenSSL.run(["cms", "-decrypt", "-inform", "DER", "-inkey", caKeyPath, "-recip", harness.responder.ca.pemPath],
                                        input: verified.output)
        #expect(decrypted.status == 0, "\(decrypted.error)")
        let csr = try OpenSSL.run(["req", "-inform", "DER", "-verify", "-noout", "-text"], input: decrypted.output)
        #expect(csr.status == 0, "\(csr.error)")
        #expect((csr.error + csr.text).contains("verify OK"))
        #expect(csr.text.contains("challengePassword") && csr.text.contains("s3cret"))
        let printed = try OpenSSL.run(["cms", "-cmsout", "-print", "-inform", "DER"], input: Data(message)).text
        #expect(printed.contains("2.16.840.1.113733.1.9.7"))  // transactionID
        #expect(printed.contains("2.16.840.1.113733.1.9.5"))  // senderNonce
        #expect(printed.contains("signingTime"))
    }
}

@Suite struct CapabilitiesTests {
    @Test func parsesCaseInsensitivelyAcrossLineEndings() {
        let capabilities = Capabilities(text: Array("renewal\r\nsha-256\nAES\r\n\r\nPOSTPKIOperation\nUnknownThing\n".utf8))
        #expect(capabilities.supportsRenewal && capabilities.supportsPOST && !capabilities.supportsGetNextCACert)
        #expect(capabilities.requestCipher(allowWeak: false) == .aes128CBC)
        #expect(capabilities.requestDigest == .sha256)
    }

    @Test func prefersTheStrongestAndNeverSendsWeakByDefault() {
        #expect(Capabilities(text: Array("SCEPStandard".utf8)).requestCipher(allowWeak: false) == .aes128CBC)
        #expect(Capabilities(text: Array("AES\nAES256\nSHA-512\nSHA-1".utf8)).requestCipher(allowWeak: false) == .aes256CBC)
        #expect(Capabilities(text: Array("SHA-512\nSHA-256".utf8)).requestDigest == .sha512)
        #expect(Capabilities(text: Array("SHA-1".utf8)).requestDigest == .sha256)
        #expect(Capabilities(text: Array("DES3".utf8)).requestCipher(allowWeak: false) == nil)
        #expect(Capabilities(text: Array("DES3".utf8)).requestCipher(allowWeak: true) == .desEDE3CBC)
        #expect(Capabilities(text: Array("DES".utf8)).requestCipher(allowWeak: true) == nil)
        #expect(Capabilities.none.requestCipher(allowWeak: false) == nil)
    }

    @Test func mediaTypeIgnoresParametersAndCase() {
        let response = SCEPResponse(status: 200, contentType: " Application/X-PKI-Message ; charset=binary", body: [])
        #expect(response.mediaType == "application/x-pki-message")
    }
}
