import Foundation
import Testing
@testable import Keystore
import ASN1
import Crypto
import Platform
import X509
import TestSupport

/// A CA and fresh identities it issues, for keystore tests.
final class Fixture {
    let ca: TestCA
    let random: RandomGenerator
    let path: String

    init() throws {
        ca = try TestCA()
        random = ca.random
        path = try scratchDirectory("keystore").path + "/ks"
    }

    func identity(_ name: String = "dev", type: KeyType = .rsa(bits: 2048)) throws -> (PrivateKey, Certificate) {
        let key = try SoftwareKey.generate(type, random: random)
        let certificate = try ca.issue(subject: try DistinguishedName(rfc4514: "CN=\(name)"), publicKeyInfo: key.publicKeyInfo)
        return (key, certificate)
    }

    func open(forWriting: Bool = true, secret: String? = nil, lockWait: Int64 = 3000) throws -> Keystore {
        try Keystore(path: path, create: true, forWriting: forWriting, deviceSecret: secret.map { SecretBytes(Array($0.utf8)) },
                     random: random, lockWaitMilliseconds: lockWait)
    }

    /// Commits `identity`; with `failAfterStep`, the commit's filesystem step of that number fails
    /// with EIO, as a full disk or a dying flash would make it.
    func commit(_ keystore: Keystore, _ identity: (PrivateKey, Certificate), failAfterStep: Int? = nil) throws {
        try keystore.commit(key: identity.0, certificate: identity.1, chain: [ca.certificate], anchor: ca.certificate,
                            metadata: IdentityMetadata([("serial", identity.1.serialHex)]), now: Int64(Date().timeIntervalSince1970),
                            observer: { (step) throws(SystemError) in
                                if step == failAfterStep { throw SystemError("injected failure after step \(step)", code: EIO) }
                            })
    }

    func mode(_ relative: String) -> Int {
        (try? FileManager.default.attributesOfItem(atPath: path + "/" + relative)[.posixPermissions] as? Int) ?? -1
    }
}

@Suite(.serialized) struct KeystoreTests {
    @Test func commitsAndLoadsWithStrictModes() throws {
        let fixture = try Fixture()
        let keystore = try fixture.open()
        #expect(try keystore.load() == nil)
        let first = try fixture.identity()
        try fixture.commit(keystore, first)
        let loaded = try #require(try keystore.load())
        #expect(loaded.certificate == first.1 && loaded.chain == [fixture.ca.certificate])
        #expect(loaded.metadata["serial"] == first.1.serialHex)
        #expect(fixture.mode("") == 0o700 && fixture.mode(loaded.generation) == 0o700)
        for file in ["current", "lock", "\(loaded.generation)/key.pem", "\(loaded.generation)/cert.pem", "\(loaded.generation)/manifest"] {
            #expect(fixture.mode(file) == 0o600, "\(file)")
        }
        let keyPEM = try String(contentsOfFile: fixture.path + "/\(loaded.generation)/key.pem", encoding: .utf8)
        let checked = try OpenSSL.run(["rsa", "-check", "-noout"], input: Data(keyPEM.utf8))
        #expect(checked.status == 0, "other tools read the key: \(checked.error)")
    }

    @Test func keepsThePreviousGenerationAndPrunesOlderOnes() throws {
        let fixture = try Fixture()
        let keystore = try fixture.open()
        for index in 0..<3 { try fixture.commit(keystore, try fixture.identity("dev\(index)")) }
        let current = try #require(try keystore.load())
        #expect(current.certificate.subject.rfc4514String == "CN=dev2")
        let entries = try FileManager.default.contentsOfDirectory(atPath: fixture.path).filter { $0.hasPrefix("gen-") }.sorted()
        #expect(entries == ["gen-000002", "gen-000003"])
        let previous = try String(contentsOfFile: fixture.path + "/previous", encoding: .utf8)
        #expect(previous.contains("generation=gen-000002"))
    }

    /// A `pending` pointer that names the generation in service (damage, or a number reused after
    /// its generation was deleted) is cleared without taking the identity in service with it.
    @Test func clearingPendingNeverRemovesTheIdentityInService() throws {
        let fixture = try Fixture()
        let keystore = try fixture.open()
        try fixture.commit(keystore, try fixture.identity())
        let current = try String(contentsOfFile: fixture.path + "/current", encoding: .utf8)
        try current.write(toFile: fixture.path + "/pending", atomically: true, encoding: .utf8)
        try keystore.clearPending()
        #expect(!FileManager.default.fileExists(atPath: fixture.path + "/pending"))
        #expect(try keystore.load() != nil)
    }

    /// A failure after every filesystem step of a commit leaves the old identity or the new one,
    /// complete, never a key without its certificate; reopening cleans up what was left.
    @Test func aFailureAfterAnyStepLeavesOldOrNew() throws {
        let fixture = try Fixture()
        let old = try fixture.identity("old")
        try fixture.commit(try fixture.open(), old)
        var sawNew = false
        var step = 1
        while !sawNew {
            try #require(step < 40, "the commit never completed")
            let new = try fixture.identity("new\(step)")
            let failed: Bool = try {
                let keystore = try fixture.open()
                return (try? fixture.commit(keystore, new, failAfterStep: step)) == nil
            }()
            let reopened = try fixture.open()
            let loaded = try #require(try reopened.load(), "step \(step): no identity")
            #expect(loaded.key.matches(publicKeyInfo: loaded.certificate.publicKeyInfo))
            if loaded.certificate == new.1 {
                sawNew = true
            } else {
                #expect(loaded.certificate.subject.value(of: OID.commonName)?.hasPrefix("new") == false || !failed)
                #expect(failed, "step \(step): the commit reported success but the new identity is not in service")
            }
            // Reopening swept what the cut left: no temporary file, and no generation that
            // neither pointer names.
            let pointers = ["current", "previous"].compactMap { name in
                try? String(contentsOfFile: fixture.path + "/" + name, encoding: .utf8)
            }.joined()
            let leftovers = try FileManager.default.contentsOfDirectory(atPath: fixture.path)
                .filter { $0.hasPrefix(".tmp-") || ($0.hasPrefix("gen-") && !pointers.contains("generation=\($0)\n")) }
            #expect(leftovers.isEmpty, "step \(step): \(leftovers)")
            step += 1
        }
        #expect(step > 8, "expected several filesystem steps, saw \(step - 1)")
    }

    /// The daemon keeps its keystore open: after a commit cut at any step, the next commit in the
    /// same process must succeed (no temporary left under a name it reuses).
    @Test func aCommitAfterAFailedOneInTheSameProcessSucceeds() throws {
        let fixture = try Fixture()
        let keystore = try fixture.open()
        try fixture.commit(keystore, try fixture.identity("first"))
        for step in 1...12 {
            let failed = (try? fixture.commit(keystore, try fixture.identity("cut\(step)"), failAfterStep: step)) == nil
            let next = try fixture.identity("next\(step)")
            try fixture.commit(keystore, next)
            #expect(try keystore.load()?.certificate == next.1, "step \(step) (cut: \(failed))")
        }
        let temporaries = try FileManager.default.contentsOfDirectory(atPath: fixture.path).filter { $0.hasPrefix(".tmp-") }
        #expect(temporaries.isEmpty, "\(temporaries)")
    }

    @Test func aCorruptCurrentGenerationFallsBackToThePrevious() throws {
        let fixture = try Fixture()
        let keystore = try fixture.open()
        let first = try fixture.identity("first")
        try fixture.commit(keystore, first)
        try fixture.commit(keystore, try fixture.identity("second"))
        let current = try #require(try keystore.load()).generation
        let certPath = fixture.path + "/\(current)/cert.pem"
        let truncated = try Data(contentsOf: URL(fileURLWithPath: certPath)).prefix(100)
        try truncated.write(to: URL(fileURLWithPath: certPath))
        let reopened = try fixture.open(forWriting: false)
        let loaded = try #require(try reopened.load())
        #expect(loaded.certificate == first.1)
        #expect(reopened.report.warnings.contains { $0.contains("truncated or corrupt") && $0.contains("previous") })
    }

    @Test func aPlantedSymlinkIsRefused() throws {
        let fixture = try Fixture()
        try fixture.commit(try fixture.open(), try fixture.identity())
        let generation = try #require(try fixture.open().load()).generation
        try FileManager.default.createSymbolicLink(atPath: fixture.path + "/\(generation)/evil", withDestinationPath: "/etc/passwd")
        #expect(throws: KeystoreError.self) { try fixture.open(forWriting: false) }
        do { _ = try fixture.open(forWriting: false) } catch { #expect("\(error)".contains("symlink")) }
    }

    @Test func theKeystoreItselfAsASymlinkIsRefused() throws {
        let fixture = try Fixture()
        try fixture.commit(try fixture.open(), try fixture.identity())
        let link = fixture.path + "-link"
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: fixture.path)
        #expect(throws: KeystoreError.self) { try Keystore(path: link, create: false, forWriting: false, random: fixture.random) }
    }

    @Test func looseModesAreRefused() throws {
        let fixture = try Fixture()
        try fixture.commit(try fixture.open(), try fixture.identity())
        chmod(fixture.path + "/current", 0o644)
        #expect(throws: KeystoreError.self) { try fixture.open(forWriting: false) }
        chmod(fixture.path + "/current", 0o600)
        chmod(fixture.path, 0o755)
        #expect(throws: KeystoreError.self) { try fixture.open(forWriting: false) }
        chmod(fixture.path, 0o700)
        #expect(try fixture.open(forWriting: false).load() != nil)
    }

    @Test func aSecondWriterIsRefusedWhileTheFirstHoldsTheLock() throws {
        let fixture = try Fixture()
        let first = try fixture.open()
        do {
            _ = try fixture.open(lockWait: 200)
            Issue.record("a second writer got the lock")
        } catch {
            #expect("\(error)".contains("in use by another scep-agent (pid \(getpid()))"))
        }
        #expect(try fixture.open(forWriting: false).load() == nil, "readers need no lock")
        withExtendedLifetime(first) {}
    }

    @Test func encryptionAtRest() throws {
        let fixture = try Fixture()
        let secret = "device-secret-0123456789abcdef"
        let identity = try fixture.identity()
        try fixture.commit(try fixture.open(secret: secret), identity)
        let generation = try #require(try fixture.open(secret: secret).load()).generation
        let files = try FileManager.default.contentsOfDirectory(atPath: fixture.path + "/" + generation)
        #expect(files.contains("key.enc") && !files.contains("key.pem"))
        let sealed = try Data(contentsOf: URL(fileURLWithPath: fixture.path + "/\(generation)/key.enc"))
        #expect(!sealed.contains(Data("PRIVATE KEY".utf8)))
        #expect(try fixture.open(secret: secret).load()?.certificate == identity.1)
        #expect(throws: KeystoreError.self) { try fixture.open(forWriting: false).load() }
        #expect(throws: KeystoreError.self) { try fixture.open(forWriting: false, secret: "another-secret-0123456789").load() }
    }

    @Test func staleFilesFromACrashAreCleanedOnOpen() throws {
        let fixture = try Fixture()
        try fixture.commit(try fixture.open(), try fixture.identity())
        #expect(FileManager.default.createFile(atPath: fixture.path + "/.tmp-current-99999", contents: Data("x".utf8), attributes: [.posixPermissions: 0o600]))
        try FileManager.default.createDirectory(atPath: fixture.path + "/gen-000009.staged", withIntermediateDirectories: false,
                                                attributes: [.posixPermissions: 0o700])
        let keystore = try fixture.open()
        #expect(keystore.report.warnings.count == 2)
        let entries = try FileManager.default.contentsOfDirectory(atPath: fixture.path)
        #expect(!entries.contains(".tmp-current-99999") && !entries.contains("gen-000009.staged"))
        #expect(try keystore.load() != nil)
    }

    @Test func aCertificateOutsideThePinIsNotCommitted() throws {
        let fixture = try Fixture()
        let keystore = try fixture.open()
        let stranger = try TestCA(subject: "CN=Stranger")
        let key = try SoftwareKey.generate(.rsa(bits: 2048), random: fixture.random)
        let foreign = try stranger.issue(subject: try DistinguishedName(rfc4514: "CN=x"), publicKeyInfo: key.publicKeyInfo)
        #expect(throws: KeystoreError.refused(.untrusted(PathError("CN=x", .noPath)))) {
            try keystore.commit(key: key, certificate: foreign, chain: [], anchor: fixture.ca.certificate,
                                metadata: IdentityMetadata([]), now: nil)
        }
        #expect(try keystore.load() == nil)
    }

    /// The read-back goes through path validation like every other trust decision: an issued
    /// certificate whose issuer in the chain is not a CA is not committed.
    @Test func aChainThroughANonCAIsNotCommitted() throws {
        let fixture = try Fixture()
        let keystore = try fixture.open()
        let device = try fixture.ca.issueKey(subject: "CN=Device", extensions: [.basicConstraints(BasicConstraints(isCA: false))])
        let key = try SoftwareKey.generate(.rsa(bits: 2048), random: fixture.random)
        let issued = try TestCA(key: device.key, certificate: device.certificate)
            .issue(subject: try DistinguishedName(rfc4514: "CN=x"), publicKeyInfo: key.publicKeyInfo)
        #expect(throws: KeystoreError.refused(.untrusted(PathError("CN=x", .issuerNotCA(issuer: "CN=Device"))))) {
            try keystore.commit(key: key, certificate: issued, chain: [device.certificate, fixture.ca.certificate],
                                anchor: fixture.ca.certificate, metadata: IdentityMetadata([]), now: nil)
        }
        #expect(try keystore.load() == nil)
    }

    @Test(arguments: [EllipticCurve.p256, .p384])
    func ecKeysAreStoredAsSEC1PEMThatOpenSSLReads(curve: EllipticCurve) throws {
        let fixture = try Fixture()
        let identity = try fixture.identity(type: .ec(curve))
        try fixture.commit(try fixture.open(), identity)
        let loaded = try #require(try fixture.open().load())
        #expect(loaded.key.type == .ec(curve) && loaded.key.publicKeyInfo == identity.0.publicKeyInfo)
        let keyPEM = try String(contentsOfFile: fixture.path + "/\(loaded.generation)/key.pem", encoding: .utf8)
        #expect(keyPEM.hasPrefix("-----BEGIN EC PRIVATE KEY-----"))
        let checked = try OpenSSL.run(["ec", "-check", "-noout"], input: Data(keyPEM.utf8))
        #expect(checked.status == 0, "\(checked.error)")
    }
}

@Suite struct GenerationNameTests {
    @Test func aNewGenerationIsOnePastTheHighest() {
        #expect(GenerationFiles.nextName(among: []) == "gen-000001")
        #expect(GenerationFiles.nextName(among: ["current", "gen-000041", "gen-000007", "gen-x", "gen-+00099"]) == "gen-000042")
    }

    /// gen-1000000 would not be read back as a generation: past gen-999999 the numbers are reused.
    @Test func afterTheLastNumberTheLowestFreeOneIsReused() {
        #expect(GenerationFiles.nextName(among: ["gen-999999", "gen-000001", "gen-000002"]) == "gen-000003")
        #expect(GenerationFiles.nextName(among: ["gen-999999", "gen-000002"]) == "gen-000001")
        #expect(GenerationFiles.number(GenerationFiles.nextName(among: ["gen-999999"])) == 1)
    }

    @Test func numbersAreSixDigitsAndNothingElse() {
        #expect(GenerationFiles.number("gen-000042") == 42)
        #expect(GenerationFiles.number("gen--00001") == nil)
        #expect(GenerationFiles.number("gen-+00001") == nil)
        #expect(GenerationFiles.number("gen-1000000") == nil)
    }
}

@Suite struct PublishedCopiesTests {
    @Test func bundleAndSeparateCopiesAreWrittenAndRepairedOnlyWhenDifferent() throws {
        let fixture = try Fixture()
        let (key, certificate) = try fixture.identity()
        let directory = try scratchDirectory("published").path
        var copies = PublishedCopies()
        copies.certificatePath = directory + "/cert.pem"
        copies.keyPath = directory + "/key.pem"
        copies.bundlePath = directory + "/bundle.pem"
        copies.publicMode = 0o640
        #expect(try copies.publish(key: key, certificate: certificate, chain: [fixture.ca.certificate]).count == 3)
        #expect(try copies.publish(key: key, certificate: certificate, chain: [], force: false) == [directory + "/bundle.pem"])
        try Data("stale".utf8).write(to: URL(fileURLWithPath: directory + "/cert.pem"))
        #expect(try copies.publish(key: key, certificate: certificate, chain: [], force: false) == [directory + "/cert.pem"])
        let attributes = try FileManager.default.attributesOfItem(atPath: directory + "/cert.pem")
        #expect(attributes[.posixPermissions] as? Int == 0o640)
        let keyAttributes = try FileManager.default.attributesOfItem(atPath: directory + "/key.pem")
        #expect(keyAttributes[.posixPermissions] as? Int == 0o600)
        let bundle = try String(contentsOfFile: directory + "/bundle.pem", encoding: .utf8)
        #expect(bundle.hasPrefix("-----BEGIN RSA PRIVATE KEY-----") && bundle.contains("-----BEGIN CERTIFICATE-----"))
    }
}
