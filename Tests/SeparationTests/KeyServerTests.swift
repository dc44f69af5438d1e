import ASN1
import Crypto
import Foundation
import Keystore
import Platform
import Testing
import X509
@testable import Agent
@testable import Separation
import TestSupport

/// The key process's answers to what a compromised network process might ask: each request is
/// parsed with bounds, and the authority refuses what the transaction does not need.
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

    @Test func signaturesAreCountedPerTransaction() throws {
        authority.begin(.enroll)
        let digest = [UInt8](repeating: 1, count: 32)
        var refused: String? = nil
        for _ in 0..<5 {
            refused = try failureText(try answer(.sign) { writer in
                writer.writeInteger(0)
                writer.writeOctetString(digest)
                writer.writeText("SHA-256")
            })
            if refused != nil { break }
        }
        #expect(refused?.contains("too many signatures") == true)
        // A new transaction has a fresh budget.
        authority.begin(.enroll)
        #expect(try answer(.sign) { writer in
            writer.writeInteger(0)
            writer.writeOctetString(digest)
            writer.writeText("SHA-256")
        }.0 == .reply)
    }

    @Test func theIdentitysKeyIsNotUsedForAFirstEnrollment() throws {
        authority.begin(.enroll)
        let text = try failureText(try answer(.currentKey))
        #expect(text != nil)
    }

    @Test func aRequestIsSealedOnlyToTheRecipientThisSideTrusts() throws {
        authority.begin(.enroll)
        let stranger = try TestCA(subject: "CN=Stranger CA")
        func seal(_ certificates: [Certificate], cipher: String = "AES-128-CBC", digest: String = "SHA-256") throws -> String? {
            try failureText(try answer(.sealRequest) { writer in
                writer.writeList(certificates.map { $0.der })
                writer.writeText(cipher)
                writer.writeText(digest)
            })
        }
        // Another CA's certificate, whatever the network side says about it.
        let refusedStranger = try seal([stranger.certificate])
        #expect(refusedStranger?.contains("fingerprint mismatch") == true, "\(refusedStranger ?? "sealed")")
        // Weak algorithms the configuration does not allow.
        authority.begin(.enroll)
        #expect(try seal([ca.certificate], cipher: "DES-EDE3-CBC")?.contains("refused to seal") == true)
        authority.begin(.enroll)
        #expect(try seal([ca.certificate], digest: "SHA-1")?.contains("refused to seal") == true)
        // The pinned CA: sealed, once per transaction (a refused attempt counts too).
        authority.begin(.enroll)
        #expect(try seal([ca.certificate]) == nil)
        #expect(try seal([ca.certificate])?.contains("second request") == true)
    }

    @Test func aCertificateOutsideThePinIsNotCommitted() throws {
        authority.begin(.enroll)
        var (_, keyFields) = try answer(.transactionKey)
        _ = try keyFields.readText()
        let publicKeyInfo = Array(try keyFields.readOctetString())
        let stranger = try TestCA(subject: "CN=Stranger CA")
        let forged = try stranger.issue(subject: try DistinguishedName(rfc4514: "CN=dev-0042"), publicKeyInfo: publicKeyInfo)
        let text = try failureText(try answer(.commit) { writer in
            writer.writeOctetString(forged.der)
            writer.writeList([stranger.certificate.der])
        })
        #expect(text?.contains("pinned CA") == true)
        #expect(try authority.keystore.load() == nil)
    }

    @Test func oversizedAndMalformedRequestsAreRefusedBeforeTheAuthoritySeesThem() throws {
        authority.begin(.enroll)
        func parse(_ kind: Wire.Kind, _ body: (inout DERWriter) -> Void) throws {
            var (_, fields) = try Wire.decode(Wire.encode(kind, body))
            _ = try KeyRequest(kind, &fields)
        }
        #expect(throws: DERError.self) {
            try parse(.sign) { writer in
                writer.writeInteger(0)
                writer.writeOctetString([UInt8](repeating: 0, count: 65))
                writer.writeText("SHA-256")
            }
        }
        #expect(throws: DERError.self) {
            try parse(.sign) { writer in
                writer.writeInteger(7)
                writer.writeOctetString([UInt8](repeating: 0, count: 32))
                writer.writeText("SHA-256")
            }
        }
        #expect(throws: DERError.self) {
            try parse(.deriveKey) { writer in
                writer.writeOctetString([1, 2, 3])
                writer.writeInteger(1000)
                writer.writeInteger(4096)
                writer.writeText("SHA-256")
            }
        }
        #expect(throws: DERError.self) { try parse(.result) { _ in } }
        // A trailing field is as wrong as a missing one.
        #expect(throws: DERError.self) {
            try parse(.transactionKey) { $0.writeNull() }
        }
    }

    @Test func keyDerivationsFromTheChallengeAreCounted() throws {
        authority.begin(.enroll)
        func derive() throws -> Wire.Kind {
            try answer(.deriveKey) { writer in
                writer.writeOctetString([UInt8](repeating: 9, count: 16))
                writer.writeInteger(2048)
                writer.writeInteger(16)
                writer.writeText("SHA-256")
            }.0
        }
        #expect(try derive() == .reply)
        #expect(try derive() == .reply)
        #expect(try derive() == .failure)
    }
}
