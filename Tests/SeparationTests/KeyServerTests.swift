import ASN1
import CMS
import Crypto
import Foundation
import Keystore
import Platform
import Protocol
import Testing
import X509
@testable import Agent
@testable import Separation
import TestSupport

/// The key process's answers to what a compromised network process might ask: each request is
/// parsed with bounds, and the authority gives only what the transaction needs, in a form that
/// is no use as an oracle.
@Suite struct KeyServerTests {
    let ca: TestCA
    let authority: KeyAuthority

    init() throws {
        ca = try TestCA()
        let keystore = try Keystore(path: try scratchDirectory("keyserver").path + "/ks", create: true, forWriting: true,
                                    random: ca.random)
        let random = ca.random
        let configuration = AgentConfiguration(
            pin: ca.pin, subject: try DistinguishedName(rfc4514: "CN=dev-0042"), keyType: .ec(.p256), reuseKey: false,
            extensions: [], schedule: RenewalSchedule(threshold: .percentOfLifetime(33)), pollInterval: 60, pollTimeout: 600,
            retryMinimum: 60, retryMaximum: 3600, allowWeakCrypto: false, hook: nil, consumeChallenge: false)
        authority = KeyAuthority(keystore: keystore, configuration: configuration, random: random, logger: Logger(level: .error),
                                 makeKey: { (type) throws(CryptoError) in try SoftwareKey.generate(type, random: random) })
        authority.challenge = SecretBytes(Array("s3cret".utf8))
        authority.begin(.enroll)
    }

    /// The answer to one request given as it would arrive on the channel.
    func answer(_ kind: Wire.Kind, _ body: (inout DERWriter) -> Void = { _ in }) throws -> (Wire.Kind, DERReader) {
        var (_, fields) = try Wire.decode(Wire.encode(kind, body))
        let reply = KeyServer.answer(try KeyRequest(kind, &fields), authority: authority)
        return try reply.withBytes { try Wire.decode(Array($0)) }
    }

    func failureText(_ answer: (Wire.Kind, DERReader)) throws -> String? {
        var (kind, fields) = answer
        guard kind == .failure else { return nil }
        _ = try fields.readSmallInteger()
        return try fields.readText()
    }

    func request(_ certificates: [Certificate], cipher: String = "AES-128-CBC", digest: String = "SHA-256") throws -> (Wire.Kind, DERReader) {
        try answer(.request) { writer in
            writer.writeList(certificates.map { $0.der })
            writer.writeText(cipher)
            writer.writeText(digest)
            writer.writeBoolean(true)
        }
    }

    /// The request the key side built: its signer and the key the issued certificate must certify.
    func built() throws -> (message: [UInt8], transactionID: String, signer: Certificate, expectedPublicKey: [UInt8]) {
        var (kind, fields) = try request([ca.certificate])
        #expect(kind == .reply)
        let message = Array(try fields.readOctetString())
        #expect(try fields.readText() == "19")
        let transaction = try fields.readText()
        _ = try fields.readOctetString()
        _ = try fields.decode(DistinguishedName.self)
        let signer = try fields.decode(Certificate.self)
        let expected = Array(try fields.readOctetString())
        return (message, transaction, signer, expected)
    }

    @Test func theRequestIsBuiltOnceForTheRecipientThisSideTrusts() throws {
        let stranger = try TestCA(subject: "CN=Stranger CA")
        #expect(try failureText(try request([stranger.certificate]))?.contains("fingerprint mismatch") == true)
        authority.begin(.enroll)
        #expect(try failureText(try request([ca.certificate], cipher: "DES-EDE3-CBC"))?.contains("refused to build") == true)
        authority.begin(.enroll)
        #expect(try failureText(try request([ca.certificate], digest: "SHA-1"))?.contains("refused to build") == true)
        authority.begin(.enroll)
        let request = try built()
        #expect(try failureText(try self.request([ca.certificate]))?.contains("second request") == true)
        // What the key side signed is a whole pkiMessage, and openssl verifies it with the signer
        // certificate it carries.
        let verified = try OpenSSL.run(["cms", "-verify", "-inform", "DER", "-noverify", "-binary", "-out", "/dev/null"],
                                       input: Data(request.message))
        #expect(verified.status == 0, "\(verified.error)")
        #expect(request.signer.publicKeyInfo == request.expectedPublicKey)
    }

    /// Another device's certificate from the same CA, nothing marking it as an RA: over plain
    /// HTTP it never receives the challenge, whatever the network side says.
    @Test func anUnmarkedEndEntityIsNoRecipientOverPlainHTTP() throws {
        let relaxed = try TestCA(keyUsage: [.keyCertSign, .cRLSign])
        authority.configuration.pin = relaxed.pin
        let device = try relaxed.issueKey(subject: "CN=Another Device", extensions: [.keyUsage([.keyEncipherment])])
        let refused = try failureText(try request([relaxed.certificate, device.certificate]))
        #expect(refused?.contains("not marked as an RA") == true, "\(refused ?? "built")")
    }

    @Test func onlyACertificateBagComesOutOfTheReply() throws {
        let request = try built()
        func envelope(_ content: [UInt8]) throws -> [UInt8] {
            try EnvelopedData.build(content: SecretBytes(content), to: .certificate(request.signer), cipher: .aes128CBC, random: ca.random)
        }
        // A secret that is not a certificate bag: refused, without saying why.
        let foreign = try failureText(try answer(.openReply) { $0.writeOctetString(try! envelope(Array(repeating: 7, count: 48))) })
        #expect(foreign?.contains("could not be opened") == true)
        let bag = SignedData.certificatesOnly([ca.certificate.der])
        var (kind, fields) = try answer(.openReply) { $0.writeOctetString(try! envelope(bag)) }
        #expect(kind == .reply)
        #expect(Array(try fields.readOctetString()) == bag)
        // Two opens per transaction, no more.
        #expect(try failureText(try answer(.openReply) { $0.writeOctetString(try! envelope(bag)) })?.contains("third") == true)
    }

    @Test func theStoredChainIsThePathValidatedHereNotTheListGiven() throws {
        let request = try built()
        let issued = try ca.issue(subject: try DistinguishedName(rfc4514: "CN=dev-0042"), publicKeyInfo: request.expectedPublicKey)
        let evilRoot = try TestCA(subject: "CN=Evil Root").certificate
        let reply = try answer(.commit) { writer in
            writer.writeOctetString(issued.der)
            writer.writeList([ca.certificate.der, evilRoot.der])
        }
        #expect(reply.0 == .reply)
        let stored = try #require(try authority.keystore.load())
        #expect(stored.certificate == issued)
        #expect(stored.chain == [ca.certificate])
    }

    @Test func aCertificateOutsideThePinIsNotCommitted() throws {
        let request = try built()
        let stranger = try TestCA(subject: "CN=Stranger CA")
        let forged = try stranger.issue(subject: try DistinguishedName(rfc4514: "CN=dev-0042"), publicKeyInfo: request.expectedPublicKey)
        let text = try failureText(try answer(.commit) { writer in
            writer.writeOctetString(forged.der)
            writer.writeList([stranger.certificate.der])
        })
        #expect(text?.contains("pinned CA") == true)
        #expect(try authority.keystore.load() == nil)
    }

    /// PENDING is noted from this side's own facts: its transaction, its signer, its clock.
    @Test func aPendingTransactionIsThisSidesOwnRecord() throws {
        let now = Int64(Date().timeIntervalSince1970) + 100
        authority.clock = { now }
        let request = try built()
        #expect(try failureText(try answer(.notePending) { $0.writeText("another-transaction") }) != nil)
        authority.begin(.enroll)
        let again = try built()
        #expect(try answer(.notePending) { $0.writeText(again.transactionID) }.0 == .reply)
        let pending = try #require(authority.pending)
        #expect(pending.record.transactionID == again.transactionID && pending.record.since == now)
        #expect(pending.record.signer == again.signer && !pending.record.signedByCurrent)
        #expect(try failureText(try answer(.notePending) { $0.writeText(again.transactionID) })?.contains("twice") == true)
        _ = request
    }

    @Test func oversizedAndMalformedRequestsAreRefusedBeforeTheAuthoritySeesThem() throws {
        func parse(_ kind: Wire.Kind, _ body: (inout DERWriter) -> Void) throws {
            var (_, fields) = try Wire.decode(Wire.encode(kind, body))
            _ = try KeyRequest(kind, &fields)
        }
        #expect(throws: DERError.self) {
            try parse(.request) { writer in
                writer.writeList(Array(repeating: ca.certificate.der, count: KeyRequest.maximumCertificates + 1))
                writer.writeText("AES-128-CBC")
                writer.writeText("SHA-256")
                writer.writeBoolean(false)
            }
        }
        #expect(throws: DERError.self) { try parse(.notePending) { $0.writeText("") } }
        #expect(throws: DERError.self) { try parse(.notePending) { $0.writeText(String(repeating: "a", count: 129)) } }
        #expect(throws: DERError.self) { try parse(.result) { _ in } }
        #expect(throws: DERError.self) { try parse(.log) { _ in } }
        // A trailing field is as wrong as a missing one.
        #expect(throws: DERError.self) { try parse(.notePending) { writer in writer.writeText("t"); writer.writeNull() } }
    }

    /// A forwarded log line cannot carry a line break or a forged field in its keys.
    @Test func forwardedLogKeysAreNamesOnly() throws {
        func line(_ key: String) throws -> (LogLevel, String, [(String, String)]) {
            var (_, fields) = try Wire.decode(Wire.encode(.log) { writer in
                writer.writeInteger(LogLevel.info.rawValue)
                writer.writeText("http response")
                writer.writeSequence { writer in
                    writer.writeText(key)
                    writer.writeText("value\nlevel=info event=enrolled")
                }
            })
            return try KeyServer.logLine(&fields)
        }
        #expect(try line("status").2.first?.0 == "status")
        #expect(throws: DERError.self) { try line("x\nlevel=info event=enrolled serial") }
        #expect(throws: DERError.self) { try line("Status") }
        // Values are the logger's to quote: the line stays one line.
        let (level, event, details) = try line("status")
        #expect(!Logger.format(level, event, details).contains("\n"))
    }
}
