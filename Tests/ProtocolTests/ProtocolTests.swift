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

    init(_ fault: ResponderFault = .none, legacy: Bool = false, bag: ResponderBag = .caOnly, caKeyUsage: KeyUsage? = nil) throws {
        let ca = try caKeyUsage.map { try TestCA(keyUsage: $0) } ?? TestCA()
        responder = try TestResponder(ca: ca, fault: fault)
        responder.legacyAlgorithms = legacy
        responder.bag = bag
        client = SCEPClient(transport: InProcessTransport(responder: responder))
        random = try RandomGenerator()
    }

    var now: Int64 { Int64(Date().timeIntervalSince1970) }

    mutating func enrollment(allowWeak: Bool = false, raPins: [[UInt8]] = []) throws -> Enrollment {
        let capabilities = try client.capabilities()
        let ca = try client.caCertificates(pin: responder.ca.pin, raPins: raPins, now: now)
        return try Enrollment(capabilities: capabilities, ca: ca, allowWeakCrypto: allowWeak)
    }

    mutating func enroll(key: PrivateKey? = nil, challenge: String = "s3cret", renewing: Identity? = nil,
                         allowWeak: Bool = false, raPins: [[UInt8]] = []) throws -> (EnrollmentResult, Enrollment) {
        var enrollment = try enrollment(allowWeak: allowWeak, raPins: raPins)
        let key = try key ?? SoftwareKey.generate(.rsa(bits: 2048), random: random)
        let secret = SecretBytes(Array(challenge.utf8))
        let request = EnrollmentRequest(subject: subject, key: key, renewing: renewing, password: LocalPassword(secret))
        let result = try enrollment.start(request, challenge: secret, client: &client, now: now, random: random)
        return (result, enrollment)
    }

    /// The SCEPError an enrollment ends in, or nil if it succeeded.
    mutating func failure(challenge: String = "s3cret", allowWeak: Bool = false, raPins: [[UInt8]] = []) -> SCEPError? {
        do {
            _ = try enroll(challenge: challenge, allowWeak: allowWeak, raPins: raPins)
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
        let key = try SoftwareKey.generate(.rsa(bits: 2048), random: harness.random)
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
        #expect(enrollment.warnings.contains(.weakReplyDigest(.sha1)))
        #expect(enrollment.warnings.contains(.weakReplyCipher(.desCBC)))
        #expect("\(ProtocolWarning.weakReplyDigest(.sha1))" == "the server signed its reply with SHA-1")
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

    /// A request too long for a GET URL goes by POST when the server offers it, and is refused
    /// clearly, before anything is sent, when it does not.
    @Test func aRequestTooLongForGETIsRefusedBeforeItIsSent() throws {
        var harness = try Harness(.noPOST)
        let before = harness.client.transport.requests.count
        let large = [UInt8](repeating: 0x30, count: 7000)  // base64 and percent-encoding take it past 8000 bytes
        let refusal: SCEPError?
        do throws(SCEPError) {
            _ = try harness.client.pkiOperation(large, capabilities: Capabilities(keywords: []))
            refusal = nil
        } catch {
            refusal = error
        }
        guard case .getTooLong(let length, let limit)? = refusal else {
            Issue.record("wanted getTooLong, got \(String(describing: refusal))")
            return
        }
        #expect(length > limit && limit == 8000)
        #expect("\(refusal!)".contains("POSTPKIOperation"))
        #expect(harness.client.transport.requests.count == before, "nothing was sent")
        _ = try? harness.client.pkiOperation(large, capabilities: Capabilities(keywords: ["POSTPKIOperation"]))
        #expect(harness.client.transport.requests.last?.method == "POST")
    }

    @Test func renewsWithRenewalReqSignedByTheCurrentCertificate() throws {
        var harness = try Harness()
        let oldKey = try SoftwareKey.generate(.rsa(bits: 2048), random: harness.random)
        let first = try #require(issued(try harness.enroll(key: oldKey).0))
        let newKey = try SoftwareKey.generate(.rsa(bits: 2048), random: harness.random)
        let (result, _) = try harness.enroll(key: newKey, renewing: Identity(key: oldKey, certificate: first.certificate))
        let renewed = try #require(issued(result))
        #expect(newKey.matches(publicKeyInfo: renewed.certificate.publicKeyInfo))
        #expect(renewed.certificate.publicKeyInfo != first.certificate.publicKeyInfo)
        #expect(harness.responder.pkiOperations == ["19", "17"])
        let request = try SignedData(message: harness.responder.lastRequestDER)
        #expect(request.signers.first?.identifies(first.certificate) == true)
    }

    @Test func withoutRenewalCapabilityRenewsWithPKCSReqSignedByTheCurrentCertificate() throws {
        var harness = try Harness(.noRenewal)
        let oldKey = try SoftwareKey.generate(.rsa(bits: 2048), random: harness.random)
        let first = try #require(issued(try harness.enroll(key: oldKey).0))
        let (result, enrollment) = try harness.enroll(renewing: Identity(key: oldKey, certificate: first.certificate))
        #expect(issued(result) != nil)
        #expect(harness.responder.pkiOperations == ["19", "19"])
        #expect(enrollment.warnings.contains(.renewalAsPKCSReq))
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
        let key = try SoftwareKey.generate(.rsa(bits: 2048), random: harness.random)
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
    func ra(_ ca: TestCA, _ name: String, _ usage: KeyUsage?, marked: Bool = false) throws -> Certificate {
        let key = try SoftwareKey.generate(.rsa(bits: 2048), random: ca.random)
        var extensions = usage.map { [CertificateExtension.keyUsage($0)] } ?? []
        if marked { extensions.append(.extendedKeyUsage([OID.cmcRA])) }
        return try ca.issue(subject: try DistinguishedName(rfc4514: "CN=\(name)"), publicKeyInfo: key.publicKeyInfo,
                            extensions: extensions)
    }

    @Test func picksTheRAMarkedForKeyEnciphermentAndIgnoresStrangers() throws {
        let ca = try TestCA(keyUsage: [.keyCertSign, .cRLSign, .digitalSignature])
        let signing = try ra(ca, "RA signing", [.digitalSignature], marked: true)
        let encryption = try ra(ca, "RA encryption", [.keyEncipherment], marked: true)
        let stranger = try ra(try TestCA(subject: "CN=Other"), "RA stranger", [.keyEncipherment], marked: true)
        let bag = SignedData.certificatesOnly([signing.der, ca.certificate.der, stranger.der, encryption.der])
        let response = SCEPResponse(status: 200, contentType: "application/x-x509-ca-ra-cert", body: bag)
        let set = try CACertificates(response: response, pin: ca.pin, now: Int64(Date().timeIntervalSince1970))
        #expect(set.anchor == ca.certificate)
        #expect(set.others == [signing, encryption])
        #expect(set.ignored == 1)
        #expect(try set.encryptionRecipient() == encryption)
    }

    /// An unmarked RA (OpenXPKI's, EJBCA's) receives requests only when pinned: unpinned, it
    /// could be any device's certificate from the same CA.
    @Test func anUnmarkedRAIsTakenOnlyWhenPinned() throws {
        // A CA that cannot decrypt (keyCertSign and cRLSign only), as OpenXPKI's and EJBCA's are.
        let ca = try TestCA(keyUsage: [.keyCertSign, .cRLSign])
        let unmarked = try ra(ca, "RA", nil)
        let withRA = try CACertificates(certificates: [ca.certificate, unmarked], pin: ca.pin, now: nil)
        #expect(throws: SCEPError.unmarkedRecipient(subject: "CN=RA")) { try withRA.encryptionRecipient() }
        #expect(withRA.isUnmarkedEndEntity(unmarked))
        let pinned = try CACertificates(certificates: [ca.certificate, unmarked], pin: ca.pin, raPins: [unmarked.sha256Fingerprint], now: nil)
        #expect(try pinned.encryptionRecipient() == unmarked)
        let alone = try CACertificates(certificates: [ca.certificate], pin: ca.pin, now: nil)
        #expect(try alone.encryptionRecipient() == ca.certificate)
    }

    /// A CA that names itself the recipient (keyEncipherment) is preferred to an unmarked end
    /// entity: over plain HTTP that may be another device's certificate.
    @Test func aCAThatDecryptsIsPreferredToAnUnmarkedEndEntity() throws {
        let ca = try TestCA()
        let device = try ra(ca, "Another Device", [.digitalSignature, .keyEncipherment])
        let set = try CACertificates(certificates: [ca.certificate, device], pin: ca.pin, now: nil)
        #expect(try set.encryptionRecipient() == ca.certificate)
        let marked = try ca.issue(subject: try DistinguishedName(rfc4514: "CN=Marked RA"),
                                  publicKeyInfo: try SoftwareKey.generate(.rsa(bits: 2048), random: ca.random).publicKeyInfo,
                                  extensions: [.keyUsage([.keyEncipherment]), .extendedKeyUsage([OID.cmcRA])])
        let withMarked = try CACertificates(certificates: [ca.certificate, device, marked], pin: ca.pin, now: nil)
        #expect(try withMarked.encryptionRecipient() == marked)
    }

    @Test func raPinsDecideAloneWhenGiven() throws {
        let ca = try TestCA()
        let first = try ra(ca, "RA one", [.keyEncipherment, .digitalSignature])
        let second = try ra(ca, "RA two", [.keyEncipherment, .digitalSignature])
        let pinned = try CACertificates(certificates: [ca.certificate, first, second], pin: ca.pin, raPins: [second.sha256Fingerprint],
                                        now: nil)
        #expect(try pinned.encryptionRecipient() == second)
        #expect(!pinned.isUnmarkedEndEntity(second))
        let nothingPinned = try CACertificates(certificates: [ca.certificate, first], pin: ca.pin, raPins: [second.sha256Fingerprint],
                                               now: nil)
        #expect(throws: SCEPError.noEncryptionRecipient(pinned: true)) { try nothingPinned.encryptionRecipient() }
    }

    @Test func aBagWithACertificateNoValidPathReachesIsReportedNotUsed() throws {
        let ca = try TestCA()
        let device = try ca.issueKey(subject: "CN=Device", extensions: [.basicConstraints(BasicConstraints(isCA: false))])
        let fake = try TestCA(key: device.key, certificate: device.certificate).issueKey(subject: "CN=Fake RA",
                                                                                          extensions: [.keyUsage([.keyEncipherment])])
        let set = try CACertificates(certificates: [ca.certificate, device.certificate, fake.certificate], pin: ca.pin, now: nil)
        #expect(set.others == [device.certificate])
        #expect(set.refused.map { $0.error } == [PathError("CN=Fake RA", .issuerNotCA(issuer: "CN=Device"))])
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
            #expect(try harness.client.nextCA(current: ca, now: harness.now) == next.certificate)
        } else {
            #expect(throws: SCEPError.self) { try harness.client.nextCA(current: ca, now: harness.now) }
        }
    }

    @Test func noNextCAIsNil() throws {
        var harness = try Harness()
        let ca = try harness.client.caCertificates(pin: harness.responder.ca.pin, now: harness.now)
        #expect(try harness.client.nextCA(current: ca, now: harness.now) == nil)
    }

    @Test func aNextCAThatIsNotACAIsRefused() throws {
        var harness = try Harness()
        let notACA = try TestCA(subject: "CN=Not A CA", keyUsage: [.digitalSignature])
        harness.responder.nextCA = notACA
        let ca = try harness.client.caCertificates(pin: harness.responder.ca.pin, now: harness.now)
        #expect(throws: SCEPError.untrustedCertificate(PathError("CN=Not A CA", .issuerLacksKeyCertSign(issuer: "CN=Not A CA")))) {
            try harness.client.nextCA(current: ca, now: harness.now)
        }
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
        case ("replyNotVerified", .rejected), ("untrusted", .untrustedCertificate), ("untrusted", .rejected),
             ("recipientNonce", .rejected(_, .recipientNonceMismatch)), ("transactionID", .rejected(_, .transactionIDMismatch)),
             ("messageType", .rejected(_, .wrongMessageType("19"))), ("notOurs", .rejected(_, .issuedCertificateNotOurs)),
             ("malformed", .malformed), ("contentType", .unexpectedContentType), ("http", .httpStatus),
             ("http", .caFingerprintMismatch), ("http", .malformed):
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
        #expect(harness.failure() == .rejected(.pkiOperation(.certRep), .transactionIDMismatch))
    }

    @Test func desOnlyServerIsRefusedUnlessWeakCryptoIsAllowed() throws {
        var harness = try Harness(.desOnlyCapabilities)
        let refusal = harness.failure()
        guard case .noUsableCipher = refusal else { Issue.record("expected noUsableCipher, got \(String(describing: refusal))"); return }
        #expect(harness.responder.pkiOperations.isEmpty)
        let (result, enrollment) = try harness.enroll(allowWeak: true)
        #expect(issued(result) != nil)
        #expect(enrollment.cipher == .desEDE3CBC)
        #expect(enrollment.warnings.contains(.weakRequestCipher(.desEDE3CBC)))
    }

    @Test func wrongPinIsRefusedBeforeAnyPKIOperation() throws {
        var harness = try Harness()
        var wrong = harness.responder.ca.pin
        wrong[0] ^= 0xff
        #expect {
            try harness.client.caCertificates(pin: wrong, now: harness.now)
        } throws: { error in
            guard case .caFingerprintMismatch(let expected, let found) = error as? SCEPError else { return false }
            return expected == wrong && found == [harness.responder.ca.pin]
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

/// RFC 8894 section 3.3.2: PENDING and FAILURE replies carry no pkcsPKIEnvelope.
@Suite struct ContentlessReplyTests {
    @Test func pendingWithoutContentIsPolledUntilIssued() throws {
        var harness = try Harness(.pendingTwice)
        #expect(!harness.responder.contentInEveryReply)
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

    @Test(arguments: [("0", FailInfo.badAlg), ("1", .badMessageCheck), ("2", .badRequest), ("3", .badTime), ("4", .badCertId)])
    func failureWithoutContentReportsItsFailInfo(code: String, info: FailInfo) throws {
        let faults: [FailInfo: ResponderFault] = [.badAlg: .failureBadAlg, .badMessageCheck: .failureBadMessageCheck,
                                                  .badRequest: .failureBadRequest, .badTime: .failureBadTime, .badCertId: .failureBadCertID]
        var harness = try Harness(faults[info]!)
        guard case .serverFailure(let reported, _) = harness.failure() else { Issue.record("expected a FAILURE"); return }
        #expect(reported == info && reported?.rawValue == code)
    }

    /// micromdm sends an empty eContent instead: both forms are read.
    @Test func pendingWithAnEmptyContentIsReadToo() throws {
        var harness = try Harness(.pendingTwice)
        harness.responder.contentInEveryReply = true
        let (result, _) = try harness.enroll()
        guard case .pending = result else { Issue.record("expected PENDING"); return }
    }

    @Test func successWithoutContentIsRefused() throws {
        let harness = try Harness()
        let request = TestResponder.Request(type: "19", transactionID: "t", senderNonce: [1, 2], signer: harness.responder.ca.certificate,
                                            content: [])
        let reply = try harness.responder.certRep(for: request, status: "0")
        let ca = try CACertificates(certificates: [harness.responder.ca.certificate], pin: harness.responder.ca.pin, now: nil)
        #expect(throws: SCEPError.rejected(.pkiOperation(.certRep), .successWithoutContent)) {
            try CertRep(reply: reply, expectedTransactionID: "t", senderNonce: [1, 2], ca: ca, authenticatedServer: false)
        }
    }
}

/// Who may receive requests and sign replies (RFC 8894 section 3.1), against whole servers.
@Suite struct RoleTests {
    @Test func splitRAsAsNDESHasThem() throws {
        var harness = try Harness(bag: .splitRA)
        let (result, enrollment) = try harness.enroll()
        #expect(issued(result) != nil)
        #expect(enrollment.recipient.subject.rfc4514String == "CN=SCEP RA encryption")
        #expect(enrollment.warnings.isEmpty, "marked RAs need no warning: \(enrollment.warnings)")
    }

    @Test func anIssuingIntermediateUnderThePinnedRoot() throws {
        var harness = try Harness(bag: .intermediate)
        let (result, enrollment) = try harness.enroll()
        let certificate = try #require(issued(result))
        #expect(enrollment.recipient.subject.value(of: OID.commonName) == "Issuing CA")
        #expect(certificate.chain.map { $0.subject.value(of: OID.commonName) } == ["Issuing CA", "Test SCEP CA"])
    }

    /// The reproduced attack: another device's certificate and an "RA" its key issued. The
    /// challenge goes to the CA, and the reply the fake RA signs is refused, naming the rule.
    @Test func aDeviceIssuedRAIsRefused() throws {
        var harness = try Harness(bag: .deviceRA)
        let enrollment = try harness.enrollment()
        #expect(enrollment.recipient == harness.responder.ca.certificate)
        #expect(harness.failure() == .untrustedCertificate(PathError("CN=Fake RA", .issuerNotCA(issuer: "CN=Another Device"))))
    }

    @Test func anUnmarkedEndEntityRecipientIsRefusedUnlessPinned() throws {
        var harness = try Harness(bag: .splitRA, caKeyUsage: [.keyCertSign, .cRLSign])
        let capabilities = try harness.client.capabilities()
        let unmarkedRA = try harness.responder.ca.issueKey(subject: "CN=Plain RA", extensions: [.keyUsage([.keyEncipherment])])
        let ca = try CACertificates(certificates: [harness.responder.ca.certificate, unmarkedRA.certificate], pin: harness.responder.ca.pin,
                                    now: nil)
        for authenticated in [false, true] {
            #expect(throws: SCEPError.unmarkedRecipient(subject: "CN=Plain RA")) {
                try Enrollment(capabilities: capabilities, ca: ca, allowWeakCrypto: false, authenticatedServer: authenticated)
            }
        }
    }

    @Test func raPinsRefuseASignerThatIsNotPinned() throws {
        var harness = try Harness(bag: .splitRA)
        let bag = try harness.client.caCertificatesUnpinned()
        let encryption = try #require(bag.first { $0.subject.value(of: OID.commonName) == "SCEP RA encryption" })
        // Only the encryption RA is pinned: the signing RA's reply is refused.
        let error = harness.failure(raPins: [encryption.sha256Fingerprint])
        #expect(error == .rejected(.pkiOperation(.certRep), .signerNotAllowed(subject: "CN=SCEP RA signing", why: .notPinned)))
        let signing = try #require(bag.first { $0.subject.value(of: OID.commonName) == "SCEP RA signing" })
        #expect(harness.failure(raPins: [encryption.sha256Fingerprint, signing.sha256Fingerprint]) == nil)
    }
}

/// EC device keys: ECDSA requests; replies by key agreement (NDES) or to the password (RFC 8894 3.1).
@Suite struct ECEnrollmentTests {
    @Test(arguments: [(EllipticCurve.p256, false), (.p384, false), (.p256, true), (.p384, true)])
    func enrollsAndRenewsWithAnECKey(curve: EllipticCurve, password: Bool) throws {
        var harness = try Harness()
        harness.responder.passwordReplies = password
        let key = try SoftwareKey.generate(.ec(curve), random: harness.random)
        let first = try #require(issued(try harness.enroll(key: key).0))
        #expect(first.certificate.keyType == .ec(curve))
        let newKey = try SoftwareKey.generate(.ec(curve), random: harness.random)
        let renewed = try #require(issued(try harness.enroll(key: newKey, renewing: Identity(key: key, certificate: first.certificate)).0))
        #expect(renewed.certificate.publicKeyInfo == newKey.publicKeyInfo)
        #expect(harness.responder.pkiOperations == ["19", "17"])
    }

    /// A server that answers EC clients with a password recipient cannot be answered on a
    /// renewal that carries no challenge: the error says so (docs/ec-keys.md).
    @Test func aPasswordReplyToARenewalWithoutAChallengeSaysSo() throws {
        var harness = try Harness()
        harness.responder.passwordReplies = true
        let key = try SoftwareKey.generate(.ec(.p256), random: harness.random)
        let first = try #require(issued(try harness.enroll(key: key).0))
        var enrollment = try harness.enrollment()
        let request = EnrollmentRequest(subject: harness.subject, key: try SoftwareKey.generate(.ec(.p256), random: harness.random),
                                        renewing: Identity(key: key, certificate: first.certificate))
        #expect(throws: SCEPError.rejected(.pkiOperation(.certRep), .envelope(.noPassword))) {
            _ = try enrollment.start(request, challenge: nil, client: &harness.client, now: harness.now, random: harness.random)
        }
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
        let caKeyDER = try (harness.responder.ca.key as! SoftwareKey).privateKeyDER().withBytes { Array($0) }
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
