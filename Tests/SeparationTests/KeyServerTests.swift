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

/// The key process's answers to what a compromised network process might send: each request is
/// parsed with bounds, and the authority gives only what the transaction needs, in a form that
/// is no use as an oracle.
@Suite struct KeyServerTests {
    let responder: TestResponder
    let authority: KeyAuthority

    init() throws { try self.init(fault: .none) }

    init(fault: ResponderFault) throws {
        responder = try TestResponder(ca: try TestCA(), fault: fault)
        let keystore = try Keystore(path: try scratchDirectory("keyserver").path + "/ks", create: true, forWriting: true,
                                    random: responder.ca.random)
        let random = responder.ca.random
        let configuration = AgentConfiguration(
            pin: responder.ca.pin, subject: try DistinguishedName(rfc4514: "CN=dev-0042"), keyType: .rsa(bits: 2048),
            reuseKey: false, extensions: [], schedule: RenewalSchedule(threshold: .percentOfLifetime(33)), pollInterval: 60,
            pollTimeout: 600, retryMinimum: 60, retryMaximum: 3600, allowWeakCrypto: false, hook: nil, consumeChallenge: false)
        authority = KeyAuthority(keystore: keystore, configuration: configuration, random: random, logger: Logger(level: .error),
                                 makeKey: { (type, _) throws(CryptoError) in try SoftwareKey.generate(type, random: random) })
        authority.challenge = SecretBytes(Array("s3cret".utf8))
        authority.begin(.enroll)
    }

    var ca: TestCA { responder.ca }

    /// The answer to one request given as it would arrive on the channel.
    func answer(_ kind: Wire.Kind, _ body: (inout DERWriter) -> Void = { _ in }) throws -> (Wire.Kind, DERReader) {
        var (_, fields) = try Wire.decode(Wire.encode(kind, body))
        return try Wire.decode(KeyServer.answer(try KeyRequest(kind, &fields), authority: authority))
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

    /// The pkiMessage the key side built for the pinned CA.
    func built() throws -> (message: [UInt8], signer: Certificate) {
        var (kind, fields) = try request([ca.certificate])
        #expect(kind == .reply)
        let message = Array(try fields.readOctetString())
        _ = try fields.readText()
        _ = try fields.readText()
        _ = try fields.readOctetString()
        _ = try fields.decode(DistinguishedName.self)
        return (message, try fields.decode(Certificate.self))
    }

    /// The server's answer to `message`, as the network process would carry it.
    func serverReply(_ message: [UInt8]) throws -> [UInt8] {
        var transport = InProcessTransport(responder: responder)
        return try transport.post(query: "operation=PKIOperation", body: message, contentType: "application/x-pki-message").body
    }

    func deliver(_ reply: [UInt8]) throws -> (Wire.Kind, DERReader) {
        try answer(.deliver) { $0.writeOctetString(reply) }
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
    }

    /// Each step the network side may take out of turn is refused with its own cause, which the
    /// daemon and the tests read as data; the text is made only when it is shown.
    @Test func stepsOutOfTurnAreRefusedWithTypedCauses() throws {
        func cause(_ step: () throws(AgentFailure) -> Void) -> AgentFailure.Cause? {
            do { try step() } catch { return error.cause }
            return nil
        }
        // A reply before any request, and claims about a transaction that never happened.
        guard case .outOfOrder(.replyWithoutRequest) = cause({ () throws(AgentFailure) in _ = try authority.deliver(reply: [0x30, 0x00]) }),
              case .outOfOrder(.issuedNeverCommitted) = cause({ () throws(AgentFailure) in _ = try authority.outcome(of: .issued) }),
              case .outOfOrder(.pendingNeverReported) = cause({ () throws(AgentFailure) in _ = try authority.outcome(of: .pending) })
        else { Issue.record("a step out of turn was not refused as such"); return }
        // Algorithms the configuration does not allow, named in the cause.
        guard case .weakAlgorithms(let cipher, let digest) = cause({ () throws(AgentFailure) in
            _ = try authority.request(certificates: [ca.certificate], cipher: .desEDE3CBC, digest: .sha256, supportsRenewal: true)
        }) else { Issue.record("a weak cipher was not refused"); return }
        #expect((cipher, digest) == ("DES-EDE3-CBC", "SHA-256"))
        // One request per transaction.
        authority.begin(.enroll)
        _ = try authority.request(certificates: [ca.certificate], cipher: .aes128CBC, digest: .sha256, supportsRenewal: true)
        guard case .outOfOrder(.secondRequest) = cause({ () throws(AgentFailure) in
            _ = try authority.request(certificates: [ca.certificate], cipher: .aes128CBC, digest: .sha256, supportsRenewal: true)
        }) else { Issue.record("a second request was built"); return }
        // A renewal with nothing in service names the keystore; a poll with nothing pending is refused.
        authority.begin(.renew)
        let renewal = cause({ () throws(AgentFailure) in
            _ = try authority.request(certificates: [ca.certificate], cipher: .aes128CBC, digest: .sha256, supportsRenewal: true)
        })
        guard case .noIdentity(let keystore) = renewal else { Issue.record("a renewal without an identity: \(String(describing: renewal))"); return }
        #expect(keystore == authority.keystore.path)
        #expect(AgentFailure(.failed, renewal!).message == "the keystore \(keystore) holds no identity; run 'enroll' first")
        authority.begin(.poll)
        guard case .outOfOrder(.noPendingTransaction) = cause({ () throws(AgentFailure) in
            _ = try authority.request(certificates: [ca.certificate], cipher: .aes128CBC, digest: .sha256, supportsRenewal: true)
        }) else { Issue.record("a poll without a pending transaction was built"); return }
    }

    /// Another device's certificate from the same CA, nothing marking it as an RA: it never
    /// receives the challenge, whatever the network side says, even over https (TLS ends in the
    /// network process, which may be the attacker).
    @Test func anUnmarkedEndEntityIsNoRecipientEvenOverHTTPS() throws {
        let relaxed = try TestCA(keyUsage: [.keyCertSign, .cRLSign])
        authority.configuration.pin = relaxed.pin
        authority.configuration.authenticatedServer = true
        let device = try relaxed.issueKey(subject: "CN=Another Device", extensions: [.keyUsage([.keyEncipherment])])
        let refused = try failureText(try request([relaxed.certificate, device.certificate]))
        #expect(refused?.contains("not marked as an RA") == true, "\(refused ?? "built")")
    }

    /// The server's reply is verified here before any key opens it, and only the certificate it
    /// issued for this transaction's key is committed, with the path validated here.
    @Test func onlyTheServersAnswerToThisRequestIsOpenedAndCommitted() throws {
        let request = try built()
        // An envelope someone encrypted to the device's key (a secret meant for it): not a reply
        // to this request, so no key touches it.
        let foreign = try EnvelopedData.build(content: SecretBytes(Array("WIFI_PSK=secret".utf8)), to: .certificate(request.signer),
                                              cipher: .aes128CBC, random: ca.random)
        let refused = try failureText(try deliver(foreign))
        #expect(refused != nil && refused?.contains("WIFI_PSK") == false)
        // One reply per transaction.
        #expect(try failureText(try deliver(try serverReply(request.message)))?.contains("second reply") == true)

        authority.begin(.enroll)
        let second = try built()
        let reply = try serverReply(second.message)
        var (kind, fields) = try deliver(reply)
        let pendingAnswer = try fields.readBoolean()
        #expect(kind == .reply && !pendingAnswer)
        let stored = try #require(try authority.keystore.load())
        #expect(stored.chain == [ca.certificate])
        let outcome = try authority.outcome(of: .issued)
        #expect(stored.certificate == outcome.certificate)

        // The same reply again, in a later transaction: another transaction and nonce, refused.
        authority.begin(.renew)
        _ = try built()
        #expect(try failureText(try deliver(reply)) != nil)
        #expect(try authority.keystore.load()?.certificate == stored.certificate)
    }

    @Test func aPendingTransactionIsThisSidesOwnRecord() throws {
        let pendingServer = try KeyServerTests(fault: .pendingForever)
        let now = Int64(Date().timeIntervalSince1970) + 100
        pendingServer.authority.clock = { now }
        let request = try pendingServer.built()
        var (kind, fields) = try pendingServer.deliver(try pendingServer.serverReply(request.message))
        let pendingAnswer = try fields.readBoolean()
        #expect(kind == .reply && pendingAnswer)
        let pending = try #require(pendingServer.authority.pending)
        #expect(pending.record.since == now && pending.record.signer == request.signer && !pending.record.signedByCurrent)
    }

    /// A FAILURE is the server's only when this side verified it: then the daemon may act on it.
    @Test func aRefusalIsRecordedFromTheVerifiedReply() throws {
        let refusing = try KeyServerTests(fault: .failureBadRequest)
        let request = try refusing.built()
        #expect(try refusing.failureText(try refusing.deliver(try refusing.serverReply(request.message)))?.contains("badRequest") == true)
        #expect(refusing.authority.refusal != nil)
        let stored = try refusing.authority.keystore.load()
        #expect(refusing.authority.pending == nil && stored == nil)
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
        #expect(throws: DERError.self) { try parse(.result) { _ in } }
        #expect(throws: DERError.self) { try parse(.log) { _ in } }
        // A trailing field is as wrong as a missing one.
        #expect(throws: DERError.self) { try parse(.deliver) { writer in writer.writeOctetString([1]); writer.writeNull() } }
        // What earlier versions offered (sign, decrypt, derive) is no request at all.
        for number in [12, 13, 16, 17, 18] {
            #expect(throws: DERError.self) { _ = try Wire.decode(DER.encode { $0.writeSequence { $0.writeInteger(number) } }) }
        }
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

extension TransactionOutcome {
    var certificate: Certificate? {
        if case .issued(let certificate) = self { return certificate }
        return nil
    }
}
