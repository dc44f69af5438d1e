import Testing
import Glibc
import ASN1
import Crypto
import Encoding
import Platform
@testable import TPM

// The real TPM (swtpm) and the independent tools (tpm2-tools, tpm2-openssl) are in
// Tests/Interop/tpm.sh. These tests cover what a real TPM will not do on request: answer with
// malformed, oversized or hostile responses, and each error code the agent explains.

/// A TPM that answers from a script: each command's code picks a response.
final class ScriptedTPM {
    var responses: [UInt32: [[UInt8]]] = [:]
    /// Once a command's queue is used up, its last response is given again.
    var last: [UInt32: [UInt8]] = [:]
    var commands: [[UInt8]] = []
    var closed = 0

    func answer(_ code: UInt32, _ response: [UInt8]) { responses[code, default: []].append(response) }

    /// The buffers the agent handed over, kept to check they were wiped afterwards.
    var commandBuffers: [SecretBytes] = []
    var responseBuffers: [SecretBytes] = []
    /// A transport failure on this command code, once.
    var failOnce: UInt32? = nil

    var connection: TPMConnection {
        TPMConnection(exchange: { (buffer, response) throws(TPMError) -> Int in
            self.commandBuffers.append(buffer)
            self.responseBuffers.append(response)
            let command = buffer.withBytes { Array($0) }
            self.commands.append(command)
            let code = UInt32(command[6]) << 24 | UInt32(command[7]) << 16 | UInt32(command[8]) << 8 | UInt32(command[9])
            if self.failOnce == code {
                self.failOnce = nil
                throw TPMError(.device(SystemError("receive", path: "tcp:127.0.0.1:2321", code: 104)))
            }
            var answer = self.last[code] ?? ScriptedTPM.response(code: 0x143)
            if var queue = self.responses[code], !queue.isEmpty {
                answer = queue.removeFirst()
                self.responses[code] = queue
                self.last[code] = answer
            }
            response.withMutableBytes { out in for index in answer.indices { out[index] = answer[index] } }
            return answer.count
        }, close: { self.closed += 1 })
    }

    func tpm(address: TPMChannel.Address = .device("/dev/tpmrm0")) -> TPM {
        TPM(address: address, connect: { () throws(TPMError) -> TPMConnection in self.connection })
    }

    /// A response with `code`, or a success carrying `handles` and (with sessions) a sized
    /// parameter area followed by one empty password acknowledgement.
    static func response(code: UInt32 = 0, sessions: Bool = true, handles: [UInt32] = [], parameters: [UInt8] = []) -> [UInt8] {
        var body = TPMWriter()
        for handle in handles { body.u32(handle) }
        if code == 0 && sessions {
            body.u32(UInt32(parameters.count))
            body.append(parameters)
            body.append([0, 0, 0x01, 0, 0]) // nonce, attributes, hmac
        } else if code == 0 {
            body.append(parameters)
        }
        var whole = TPMWriter()
        whole.u16(code == 0 && sessions ? TPMTag.sessions : TPMTag.noSessions)
        whole.u32(UInt32(10 + (code == 0 ? body.bytes.count : 0)))
        whole.u32(code)
        if code == 0 { whole.append(body.bytes) }
        return whole.bytes
    }
}

/// An RSA key's modulus, from its SubjectPublicKeyInfo.
func modulus(of key: SoftwareKey) throws -> [UInt8] {
    var outer = DERReader(key.publicKeyInfo)
    var spki = try outer.enterSequence()
    _ = try spki.read()
    var bits = DERReader(Array(try spki.readBitStringBytes()))
    var rsa = try bits.enterSequence()
    return Array(try rsa.readIntegerBytes().drop { $0 == 0 })
}

/// What a TPM answers to TPM2_Create and TPM2_CreatePrimary for the agent's templates, with `key`'s
/// public half in the unique field.
func createdPublic(_ key: SoftwareKey) throws -> TPMPublicArea {
    let template = TPMPublicArea.deviceKey(.rsa(bits: 2048))!
    return TPMPublicArea(attributes: template.attributes, storageCipher: false,
                         key: .rsa(bits: 2048, modulus: try modulus(of: key), exponent: 0))
}

let storageRootPublic = TPMPublicArea(attributes: TPMPublicArea.storageRoot.attributes, storageCipher: true,
                                      key: .ecc(curve: TPMCurve.nistP256, x: [UInt8](repeating: 7, count: 32), y: [UInt8](repeating: 9, count: 32)))

func scriptCreatePrimary(_ tpm: ScriptedTPM) {
    var parameters = TPMWriter()
    parameters.append(storageRootPublic.sizedEncoding)
    parameters.append([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]) // the rest is not read
    tpm.answer(TPMCommandCode.createPrimary, ScriptedTPM.response(handles: [0x8000_0000], parameters: parameters.bytes))
    tpm.answer(TPMCommandCode.flushContext, ScriptedTPM.response(sessions: false))
    tpm.answer(TPMCommandCode.getCapability, ScriptedTPM.response(sessions: false, parameters: [0, 0, 0, 0, 1, 0, 0, 0, 0]))
}

@Suite struct TPMMarshallingTests {
    /// The storage root template, byte for byte as TPM 2.0 Part 2 lays out TPMT_PUBLIC and as
    /// tpm2-openssl's primaryEccTemplate marshals: the same bytes give the same key on a TPM.
    @Test func storageRootTemplateBytes() {
        #expect(Hex.encode(TPMPublicArea.storageRoot.sizedEncoding)
            == "001a" + "0023" + "000b" + "00030472" + "0000" + "0006" + "0080" + "0043" + "0010" + "0003" + "0010" + "0000" + "0000")
    }

    @Test func deviceKeyTemplates() {
        // RSA: sign and decrypt, fixed to this TPM and parent, made inside it, no policy.
        #expect(Hex.encode(TPMPublicArea.deviceKey(.rsa(bits: 2048))!.sizedEncoding)
            == "0016" + "0001" + "000b" + "00060472" + "0000" + "0010" + "0010" + "0800" + "00000000" + "0000")
        #expect(Hex.encode(TPMPublicArea.deviceKey(.ec(.p384))!.sizedEncoding)
            == "0016" + "0023" + "000b" + "00060472" + "0000" + "0010" + "0010" + "0004" + "0010" + "0000" + "0000")
        #expect(TPMPublicArea.deviceKey(.rsa(bits: 1024)) == nil)
    }

    @Test func publicAreaRoundTripsAndRefusesTrailingBytes() throws {
        let area = storageRootPublic
        #expect(try TPMPublicArea(sized: area.sizedEncoding) == area)
        #expect(throws: TPMError.self) { try TPMPublicArea(sized: area.sizedEncoding + [0]) }
        var shortened = area.sizedEncoding
        shortened.removeLast()
        #expect(throws: TPMError.self) { try TPMPublicArea(sized: shortened) }
    }

    /// Every prefix and every single-byte change of a public area is read without a crash, and
    /// nothing longer than the structure's own limits is accepted.
    @Test func hostilePublicAreas() throws {
        let random = try RandomGenerator()
        let key = try SoftwareKey.generate(.rsa(bits: 2048), random: random)
        let encoded = try createdPublic(key).sizedEncoding
        for length in 0..<encoded.count { _ = try? TPMPublicArea(sized: Array(encoded[0..<length])) }
        for index in 0..<min(encoded.count, 40) {
            for value: UInt8 in [0, 0x7f, 0x80, 0xff] {
                var changed = encoded
                changed[index] = value
                _ = try? TPMPublicArea(sized: changed)
            }
        }
        // A modulus field claiming 600 bytes: over the 512-byte limit, refused by name.
        var writer = TPMWriter()
        writer.sized { area in
            area.u16(TPMAlgorithm.rsa); area.u16(TPMAlgorithm.sha256); area.u32(0); area.sized([UInt8]())
            area.u16(TPMAlgorithm.null); area.u16(TPMAlgorithm.null); area.u16(4096); area.u32(0)
            area.sized([UInt8](repeating: 1, count: 600))
        }
        do {
            _ = try TPMPublicArea(sized: writer.bytes)
            Issue.record("a 600-byte modulus was accepted")
        } catch {
            #expect(error.kind == .malformed("TPM2B_PUBLIC_KEY_RSA"))
        }
    }
}

@Suite struct TPMKeyFileTests {
    func sampleFile() throws -> TPMKeyFile {
        let random = try RandomGenerator()
        let key = try SoftwareKey.generate(.rsa(bits: 2048), random: random)
        return try TPMKeyFile(publicBlob: try createdPublic(key).sizedEncoding, privateBlob: [0, 4, 1, 2, 3, 4])
    }

    @Test func roundTripThroughPEM() throws {
        let file = try sampleFile()
        let pem = String(decoding: file.pem, as: UTF8.self)
        #expect(pem.hasPrefix("-----BEGIN TSS2 PRIVATE KEY-----\n"))
        #expect(try TPMKeyFile(parsing: file.pem) == file)
        #expect(try TPMKeyFile(parsing: file.der) == file)
    }

    /// The DER layout of the key-file convention: OID 2.23.133.10.1.3, emptyAuth TRUE, the
    /// owner hierarchy as parent.
    @Test func derLayout() throws {
        let der = try sampleFile().der
        #expect(Hex.encode(Array(der[4..<29])) == "0606678105" + "0a0103" + "a003" + "0101ff" + "020440000001" + "04820118" + "0116")
    }

    @Test func refusesWhatTheAgentDoesNotMake() throws {
        let file = try sampleFile()
        func variant(oid: [UInt64] = [2, 23, 133, 10, 1, 3], emptyAuth: Bool? = true, parent: [UInt8] = [0x40, 0, 0, 1],
                     trailing: Bool = false) -> [UInt8] {
            DER.encode { writer in
                writer.writeSequence { writer in
                    writer.writeObjectIdentifier(ObjectIdentifier(oid))
                    if let emptyAuth { writer.writeExplicit(0) { $0.writeBoolean(emptyAuth) } }
                    writer.writeInteger(unsignedBytes: parent)
                    writer.writeOctetString(file.publicBlob)
                    writer.writeOctetString(file.privateBlob)
                    if trailing { writer.writeNull() }
                }
            }
        }
        #expect(try TPMKeyFile(parsing: variant()) == file)
        for (bytes, reason) in [(variant(oid: [2, 23, 133, 10, 1, 4]), "not a loadable TPM key"),
                                (variant(emptyAuth: false), "a key with an authorization value"),
                                (variant(emptyAuth: nil), "a key with an authorization value"),
                                (variant(parent: [0x81, 0, 0, 1]), "a parent other than the owner hierarchy's storage root"),
                                (variant(trailing: true), "not DER")] {
            do {
                _ = try TPMKeyFile(parsing: bytes)
                Issue.record("accepted: \(reason)")
            } catch {
                #expect(error.description == "TPM key file: \(reason)")
            }
        }
        #expect(throws: TPMError.self) { try TPMKeyFile(parsing: Array("-----BEGIN TSS2 PRIVATE KEY-----\n!!\n".utf8)) }
        #expect(throws: TPMError.self) { try TPMKeyFile(publicBlob: file.publicBlob, privateBlob: [0, 0]) }
    }

    @Test func randomBytesNeverCrash() throws {
        let random = try RandomGenerator()
        let der = try sampleFile().der
        for round in 0..<2000 {
            var bytes = der
            let noise = try random.bytes(4)
            bytes[Int(noise[0]) % bytes.count] = noise[1]
            if round % 3 == 0 { bytes = Array(bytes.prefix(Int(noise[2]) * bytes.count / 256)) }
            _ = try? TPMKeyFile(parsing: bytes)
        }
    }
}

@Suite(.serialized) struct TPMCommandTests {
    @Test func generateSignAndDecryptThroughScriptedTPM() throws {
        let random = try RandomGenerator()
        let inside = try SoftwareKey.generate(.rsa(bits: 2048), random: random)
        let script = ScriptedTPM()
        scriptCreatePrimary(script)
        var created = TPMWriter()
        created.sized([UInt8](repeating: 0xaa, count: 32)) // TPM2B_PRIVATE
        created.append(try createdPublic(inside).sizedEncoding)
        script.answer(TPMCommandCode.create, ScriptedTPM.response(parameters: created.bytes))
        let key = try script.tpm().generate(.rsa(bits: 2048))
        #expect(key.publicKeyInfo == inside.publicKeyInfo)
        #expect(key.storage == .tpm)
        #expect(key.heldForm?.format == "tpm2")
        #expect(script.closed == 1)

        // Sign: the TPM's signature comes back as PKCS#1 v1.5 bytes that verify.
        let digest = DigestAlgorithm.sha256.hash(Array("to be signed".utf8))
        var signature = TPMWriter()
        signature.u16(TPMAlgorithm.rsassa)
        signature.u16(TPMAlgorithm.sha256)
        signature.sized(try inside.sign(digest: digest, algorithm: .sha256))
        script.answer(TPMCommandCode.load, ScriptedTPM.response(handles: [0x8000_0001], parameters: [0, 0]))
        script.answer(TPMCommandCode.sign, ScriptedTPM.response(parameters: signature.bytes))
        let signed = try key.sign(digest: digest, algorithm: .sha256)
        #expect(try PublicKey(publicKeyInfo: key.publicKeyInfo).verify(signature: signed, digest: digest, algorithm: .sha256))
        // The Sign command carried the digest, RSASSA with SHA-256, and a NULL ticket.
        let sign = script.commands.last { $0[9] == 0x5D }!
        #expect(Hex.encode(Array(sign.suffix(46))) == "0020" + Hex.encode(digest) + "0014000b" + "8024" + "40000007" + "0000")
        // Each use loads the key and flushes it and the storage root.
        let flushed = script.commands.filter { $0[9] == 0x65 }.map { Hex.encode(Array($0.suffix(4))) }
        #expect(flushed.suffix(2) == ["80000001", "80000000"])

        // A signature of the wrong kind or hash is refused.
        var wrong = TPMWriter()
        wrong.u16(TPMAlgorithm.ecdsa)
        wrong.u16(TPMAlgorithm.sha256)
        wrong.sized([1])
        wrong.sized([2])
        script.answer(TPMCommandCode.sign, ScriptedTPM.response(parameters: wrong.bytes))
        #expect(throws: CryptoError.self) { try key.sign(digest: digest, algorithm: .sha256) }
        #expect(throws: CryptoError.self) { try key.sign(digest: [1, 2, 3], algorithm: .sha256) }
        #expect(throws: CryptoError.self) { try key.sign(digest: DigestAlgorithm.sha1.hash([1]), algorithm: .sha1) }
    }

    /// Each error a device maker will meet reads as what to do about it, names the command, and
    /// never loses the reason in a generic "failed".
    @Test func responseCodesAreExplained() throws {
        let cases: [(UInt32, String)] = [
            (0x921, "dictionary-attack lockout"), (0x902, "out of object or session memory"),
            (0x9A2, "authorization failed"), (0x98E, "authorization failed"), (0x100, "not started"),
            (0x101, "failure mode"), (0x120, "disabled"), (0x1DF, "does not belong to this TPM"),
        ]
        for (code, text) in cases {
            let script = ScriptedTPM()
            script.answer(TPMCommandCode.getCapability, ScriptedTPM.response(sessions: false, parameters: [0, 0, 0, 0, 1, 0, 0, 0, 0]))
            script.answer(TPMCommandCode.createPrimary, ScriptedTPM.response(code: code))
            do {
                _ = try script.tpm().generate(.rsa(bits: 2048))
                Issue.record("code \(code) was not an error")
            } catch {
                #expect(error.description.contains(text), "\(error)")
                #expect(error.description.contains("TPM2_CreatePrimary"), "\(error)")
                #expect(error.description.contains("0x" + String(code, radix: 16)), "\(error)")
            }
            #expect(script.closed == 1)
        }
    }

    @Test func busyAnswersAreRetriedThenGivenUp() throws {
        let script = ScriptedTPM()
        scriptCreatePrimary(script)
        let primary = script.responses[TPMCommandCode.createPrimary]!
        #expect(primary.count == 1)
        script.responses[TPMCommandCode.createPrimary] = [ScriptedTPM.response(code: 0x922), ScriptedTPM.response(code: 0x908)] + primary
        script.answer(TPMCommandCode.create, ScriptedTPM.response(code: 0x902))
        #expect(throws: TPMError.self) { try script.tpm().generate(.rsa(bits: 2048)) }
        #expect(script.commands.filter { $0[9] == 0x31 }.count == 3)
        // Always busy: given up after five tries, with the reason.
        let busy = ScriptedTPM()
        busy.answer(TPMCommandCode.getCapability, ScriptedTPM.response(sessions: false, parameters: [0, 0, 0, 0, 1, 0, 0, 0, 0]))
        busy.answer(TPMCommandCode.createPrimary, ScriptedTPM.response(code: 0x90A))
        do {
            _ = try busy.tpm().generate(.rsa(bits: 2048))
            Issue.record("an always-busy TPM succeeded")
        } catch {
            #expect(error.description.contains("busy"))
        }
        #expect(busy.commands.filter { $0[9] == 0x31 }.count == 5)
    }

    /// Without a resource manager, what a killed run left loaded is flushed first; with one, the
    /// agent never touches other clients' objects.
    @Test func leftoversAreFlushedOnlyWithoutAResourceManager() throws {
        for (address, expectFlush) in [(TPMChannel.Address.device("/dev/tpmrm0"), false), (.device("/dev/tpm0"), true),
                                       (.tcp(host: IPAddress("127.0.0.1")!, port: 2321), true)] {
            let script = ScriptedTPM()
            scriptCreatePrimary(script)
            script.responses[TPMCommandCode.getCapability] = [ScriptedTPM.response(
                sessions: false, parameters: [0, 0, 0, 0, 1, 0, 0, 0, 2, 0x80, 0, 0, 5, 0x81, 0, 0, 1])]
            script.answer(TPMCommandCode.create, ScriptedTPM.response(code: 0x902))
            _ = try? script.tpm(address: address).generate(.rsa(bits: 2048))
            let flushed = script.commands.filter { $0[9] == 0x65 }.map { Hex.encode(Array($0.suffix(4))) }
            #expect(flushed.contains("80000005") == expectFlush, "\(address)")
            #expect(!flushed.contains("81000001"), "a persistent handle is never flushed")
        }
    }

    /// Responses that lie about their size, their tag or their contents are refused by name.
    @Test func malformedResponses() throws {
        let good = ScriptedTPM.response(handles: [0x8000_0000], parameters: storageRootPublic.sizedEncoding)
        var wrongSize = good
        wrongSize[5] &+= 1
        var wrongTag = good
        wrongTag[1] = 0x01
        var longParameters = good
        longParameters[17] = 0xff
        let cases: [([UInt8], String)] = [
            (Array(good.prefix(6)), "response"), (wrongSize, "response size"), (wrongTag, "response tag"),
            (longParameters, "parameterSize"), (Array(good.prefix(14)), "response size"),
            // A parameterSize of 0xFFFFFFF0: no Int conversion before the comparison (32-bit).
            ([0x80, 0x02, 0, 0, 0, 20, 0, 0, 0, 0, 0x80, 0, 0, 0, 0xff, 0xff, 0xff, 0xf0, 0, 0], "parameterSize"),
            ([0x80, 0x02, 0, 0, 0, 12, 0, 0, 0, 0, 0x80, 0], "response handle"),
        ]
        for (response, field) in cases {
            let script = ScriptedTPM()
            script.answer(TPMCommandCode.getCapability, ScriptedTPM.response(sessions: false, parameters: [0, 0, 0, 0, 1, 0, 0, 0, 0]))
            script.answer(TPMCommandCode.createPrimary, response)
            do {
                _ = try script.tpm().generate(.rsa(bits: 2048))
                Issue.record("accepted a response with a bad \(field)")
            } catch {
                #expect(error.description.contains("malformed") && error.description.contains(field), "\(error)")
            }
        }
        // A storage root of other parameters than the template (a TPM that ignores it) is refused.
        let script = ScriptedTPM()
        script.answer(TPMCommandCode.getCapability, ScriptedTPM.response(sessions: false, parameters: [0, 0, 0, 0, 1, 0, 0, 0, 0]))
        let other = TPMPublicArea(attributes: 0, storageCipher: true, key: .ecc(curve: TPMCurve.nistP256, x: [1], y: [1]))
        script.answer(TPMCommandCode.createPrimary, ScriptedTPM.response(handles: [0x8000_0000], parameters: other.sizedEncoding))
        script.answer(TPMCommandCode.flushContext, ScriptedTPM.response(sessions: false))
        #expect(throws: TPMError.self) { try script.tpm().generate(.rsa(bits: 2048)) }
    }

    /// The owner authorization travels in the password session, and nowhere else.
    @Test func ownerAuthorizationGoesInThePasswordSession() throws {
        let script = ScriptedTPM()
        scriptCreatePrimary(script)
        script.answer(TPMCommandCode.create, ScriptedTPM.response(code: 0x902))
        let tpm = TPM(address: .device("/dev/tpmrm0"), ownerAuth: SecretBytes(Array("owner-pass".utf8)),
                      connect: { () throws(TPMError) -> TPMConnection in script.connection })
        _ = try? tpm.generate(.rsa(bits: 2048))
        let createPrimary = script.commands.first { $0[9] == 0x31 }!
        // handle TPM_RH_OWNER, then a 19-byte area: TPM_RS_PW, empty nonce, attributes 0, the password.
        #expect(Hex.encode(Array(createPrimary[10..<37])) == "40000001" + "00000013" + "40000009" + "0000" + "00" + "000a"
            + Hex.encode(Array("owner-pass".utf8)))
        let create = script.commands.first { $0[9] == 0x53 }!
        #expect(!Hex.encode(create).contains(Hex.encode(Array("owner-pass".utf8))))
    }
}

@Suite(.serialized) struct TPMHygieneTests {
    /// A generated key and a scripted TPM that loads it and signs with `inside`.
    func keyInScriptedTPM(ownerAuth: SecretBytes? = nil) throws -> (TPMKey, SoftwareKey, ScriptedTPM) {
        let random = try RandomGenerator()
        let inside = try SoftwareKey.generate(.rsa(bits: 2048), random: random)
        let script = ScriptedTPM()
        scriptCreatePrimary(script)
        var created = TPMWriter()
        created.sized([UInt8](repeating: 0xaa, count: 32))
        created.append(try createdPublic(inside).sizedEncoding)
        script.answer(TPMCommandCode.create, ScriptedTPM.response(parameters: created.bytes))
        script.answer(TPMCommandCode.load, ScriptedTPM.response(handles: [0x8000_0001], parameters: [0, 0]))
        let tpm = TPM(address: .device("/dev/tpmrm0"), ownerAuth: ownerAuth,
                      connect: { () throws(TPMError) -> TPMConnection in script.connection })
        return (try tpm.generate(.rsa(bits: 2048)), inside, script)
    }

    /// A signature the TPM got wrong is never handed out (a faulty RSA-CRT signature would give
    /// the key away to whoever receives it).
    @Test func aSignatureThatDoesNotVerifyIsRefused() throws {
        let (key, inside, script) = try keyInScriptedTPM()
        let digest = DigestAlgorithm.sha256.hash(Array("csr".utf8))
        var good = try inside.sign(digest: digest, algorithm: .sha256)
        good[good.count - 1] ^= 0x01
        var signature = TPMWriter()
        signature.u16(TPMAlgorithm.rsassa)
        signature.u16(TPMAlgorithm.sha256)
        signature.sized(good)
        script.answer(TPMCommandCode.sign, ScriptedTPM.response(parameters: signature.bytes))
        do {
            _ = try key.sign(digest: digest, algorithm: .sha256)
            Issue.record("a bad signature was handed out")
        } catch {
            #expect("\(error)".contains("does not verify"))
        }
    }

    /// The command buffers (owner password) and the response buffers (content keys) are wiped
    /// once the command is done.
    @Test func commandsAndResponsesAreWiped() throws {
        let (key, _, script) = try keyInScriptedTPM(ownerAuth: SecretBytes(Array("owner-pass".utf8)))
        var decrypted = TPMWriter()
        decrypted.sized([UInt8](repeating: 0x5c, count: 16))
        script.answer(TPMCommandCode.rsaDecrypt, ScriptedTPM.response(parameters: decrypted.bytes))
        let contentKey = try key.decrypt([UInt8](repeating: 1, count: 256))
        #expect(contentKey.withBytes { Array($0) } == [UInt8](repeating: 0x5c, count: 16))
        #expect(script.commands.contains { Hex.encode($0).contains(Hex.encode(Array("owner-pass".utf8))) })
        for buffer in script.commandBuffers + script.responseBuffers {
            #expect(buffer.withBytes { $0.allSatisfy { $0 == 0 } })
        }
    }

    /// After a transport failure nothing more is sent on the connection: not even the flushes,
    /// which would each wait out their own deadline on a stalled peer.
    @Test func aBrokenConnectionIsGivenUp() throws {
        let (key, _, script) = try keyInScriptedTPM()
        script.failOnce = TPMCommandCode.sign
        let before = script.commands.count
        do {
            _ = try key.sign(digest: DigestAlgorithm.sha256.hash([1]), algorithm: .sha256)
            Issue.record("signed through a failed connection")
        } catch {
            #expect("\(error)".contains("TPM2_Sign"))
        }
        let sent = script.commands[before...].map { $0[9] }
        #expect(sent.last == 0x5D, "nothing after the failed TPM2_Sign: \(sent)")
    }

    @Test func aKeyFileWithAnOversizedPrivatePartIsRefused() throws {
        let random = try RandomGenerator()
        let inside = try SoftwareKey.generate(.rsa(bits: 2048), random: random)
        var big = TPMWriter()
        big.sized([UInt8](repeating: 1, count: 1025))
        do {
            _ = try TPMKeyFile(publicBlob: try createdPublic(inside).sizedEncoding, privateBlob: big.bytes)
            Issue.record("accepted a 1025-byte private part")
        } catch {
            #expect("\(error)" == "TPM key file: a private part over 1024 bytes")
        }
        do {
            _ = try TPMKeyFile(publicBlob: [0, 3, 0, 1, 0], privateBlob: [0, 1, 0])
            Issue.record("accepted a truncated public part")
        } catch {
            #expect("\(error)".hasPrefix("TPM key file: malformed ("))
        }
    }
}

@Suite struct TPMChannelTests {
    @Test func addresses() {
        #expect(TPMChannel.Address("/dev/tpmrm0") == .device("/dev/tpmrm0"))
        #expect(TPMChannel.Address("/dev/tpmrm0")!.hasResourceManager)
        #expect(!TPMChannel.Address("/dev/tpm0")!.hasResourceManager)
        #expect(TPMChannel.Address("tcp:127.0.0.1:2321") == .tcp(host: IPAddress("127.0.0.1")!, port: 2321))
        #expect(TPMChannel.Address("tcp:[::1]:2321") == .tcp(host: IPAddress("::1")!, port: 2321))
        #expect(TPMChannel.Address("tcp:[::1]:2321")!.description == "tcp:[::1]:2321")
        #expect(TPMChannel.Address("tcp:127.1.2.3:2321") != nil)
        // Not loopback: the stream carries authorization values and content keys in the clear.
        #expect(TPMChannel.Address("tcp:192.0.2.1:2321") == nil)
        #expect(TPMChannel.Address("tcp:[2001:db8::1]:2321") == nil)
        for bad in ["dev/tpm0", "tcp:localhost:2321", "tcp:127.0.0.1:0", "tcp:127.0.0.1:65536", "tcp:127.0.0.1:", "tcp:127.0.0.1",
                    "tcp:127.0.0.1:+1", "tcp:127.0.0.1:0000002321", "", "tpm0"] {
            #expect(TPMChannel.Address(bad) == nil, "\(bad)")
        }
    }

    /// A file or a FIFO where the device belongs is refused at once, never waited on.
    @Test func onlyACharacterDeviceIsOpened() throws {
        let directory = "/tmp/scep-agent-tpm-test-\(getpid())"
        try? makeDirectory(directory, permissions: 0o700)
        defer {
            try? removeFile(directory + "/file")
            try? removeFile(directory + "/fifo")
            _ = rmdir(directory)
        }
        try writeFileAtomically(directory + "/file", [1, 2, 3], permissions: 0o600)
        #expect(throws: SystemError("open", path: directory + "/file", code: 19, detail: .notACharacterDevice)) {
            try TPMChannel.open(.device(directory + "/file"), timeoutMilliseconds: 100)
        }
        #expect(mkfifo(directory + "/fifo", 0o600) == 0)
        #expect(throws: SystemError.self) { try TPMChannel.open(.device(directory + "/fifo"), timeoutMilliseconds: 100) }
        #expect(throws: SystemError.self) { try TPMChannel.open(.device(directory + "/missing"), timeoutMilliseconds: 100) }
    }
}
