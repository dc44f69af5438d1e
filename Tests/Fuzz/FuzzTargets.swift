// libFuzzer entry points for every parser that meets untrusted bytes. Built by Tests/Fuzz/fuzz.sh
// with `-sanitize=fuzzer,address` against the package's modules compiled the same way; the target
// is chosen by SCEP_FUZZ_TARGET, so one binary serves all of them:
//
//   der        DERReader walk, X.509 certificate, PKCS#10 request, distinguished name
//   cms        SignedData and EnvelopedData (parse; open with the seeds' device key)
//   certrep    a whole CertRep: signature, signer chain to the pin, attributes, then the envelope
//   http       the HTTP/1.1 response parser, fed in two pieces
//   caps       GetCACaps text, and GetCACert bodies of every content type
//   config     the config file parser and the settings it yields
//   keystore   pointer, manifest and meta parsers, then a whole keystore load from fuzzed files
//   wire       the key process's view of a compromised network process: every message it reads
//   dns        DNS answers (the stub resolver's parser) and resolv.conf / hosts text
//   tpm        a TPM's side of a conversation: every response the agent reads while it makes a
//              key, signs, decrypts and agrees, then the same bytes as a key file
//
// A crash is a bug: fuzz.sh keeps the input, and it becomes a regression test in Tests/.
import ASN1
import CMS
import Crypto
import Encoding
#if canImport(Glibc)
import Glibc
#else
import CLibc   // the Embedded replay build (main.swift), where Glibc's overlay does not exist
#endif
import HTTP
@testable import HTTP
import Platform
@testable import Agent
@testable import CLI
@testable import Keystore
import Protocol
@testable import Separation
import TPM
import X509

/// What the targets need beyond the input, loaded once: the CA the certrep seeds are signed by,
/// and the device key and certificate they are encrypted to (Tests/Fuzz/corpus/fixtures).
final class Fixtures {
    nonisolated(unsafe) static var shared: Fixtures? = nil
    let ca: CACertificates?
    let deviceKey: PrivateKey?
    let deviceCertificate: Certificate?
    let random: RandomGenerator
    let target: String
    let scratch: String

    init() {
        target = environmentValue("SCEP_FUZZ_TARGET") ?? "der"
        let fixtures = environmentValue("SCEP_FUZZ_FIXTURES") ?? "Tests/Fuzz/corpus/fixtures"
        random = try! RandomGenerator()
        let caDER = Fixtures.read(fixtures + "/ca.der")
        let caCertificate = caDER.flatMap { try? Certificate(der: $0) }
        ca = caCertificate.flatMap { try? CACertificates(certificates: [$0], pin: $0.sha256Fingerprint, now: nil) }
        let random = random
        deviceKey = Fixtures.read(fixtures + "/device-key.pem").flatMap { try? SoftwareKey.parse(SecretBytes($0), random: random) }
        deviceCertificate = Fixtures.read(fixtures + "/device-cert.der").flatMap { try? Certificate(der: $0) }
        scratch = "/tmp/scep-fuzz-\(getpid())"
        // A target that cannot reach its deep paths would fuzz only the surface: refuse to run.
        if (target == "certrep" || target == "cms") && (ca == nil || deviceKey == nil || deviceCertificate == nil) {
            StandardStream.error.writeLine("fixtures missing or unreadable in \(fixtures)")
            exit(2)
        }
    }

    static func read(_ path: String) -> [UInt8]? { try? readFile(path, limit: 1 << 20) }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    if Fixtures.shared == nil { Fixtures.shared = Fixtures() }
    let fixtures = Fixtures.shared!
    let input = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    switch fixtures.target {
    case "der": fuzzDER(input)
    case "cms": fuzzCMS(input, fixtures)
    case "certrep": fuzzCertRep(input, fixtures)
    case "http": fuzzHTTP(input)
    case "caps": fuzzCaps(input)
    case "config": fuzzConfig(input)
    case "keystore": fuzzKeystore(input, fixtures)
    case "wire": fuzzWire(input)
    case "dns": fuzzDNS(input)
    case "tpm": fuzzTPM(input)
    default:
        StandardStream.error.writeLine("unknown SCEP_FUZZ_TARGET \(fixtures.target)")
        exit(2)
    }
    return 0
}

/// Walks every element, depth first, as a generic DER consumer would.
func walk(_ reader: inout DERReader) {
    while !reader.isAtEnd {
        guard let element = try? reader.read() else { return }
        if element.isConstructed, var inner = try? element.reader() { walk(&inner) }
    }
}

func fuzzDER(_ input: [UInt8]) {
    var reader = DERReader(input)
    walk(&reader)
    if let certificate = try? Certificate(der: input) {
        _ = certificate.isSelfIssued
        _ = certificate.subject.rfc4514String
        _ = certificate.isSigned(by: certificate)
    }
    if let request = try? CertificationRequest(der: input) { _ = request.verifySignature() }
    var again = DERReader(input)
    if let element = try? again.read() {
        _ = try? DistinguishedName(derElement: element)
        _ = try? DERTime.parse(element)
    }
}

func deviceKeys(_ fixtures: Fixtures) -> EnvelopedData.Keys? {
    guard let key = fixtures.deviceKey, let certificate = fixtures.deviceCertificate else { return nil }
    return EnvelopedData.Keys(key: key, certificate: certificate, password: LocalPassword(SecretBytes(Array("s3cret".utf8))))
}

func fuzzCMS(_ input: [UInt8], _ fixtures: Fixtures) {
    if let signed = try? SignedData(message: input) {
        for signer in signed.signers {
            for certificate in signed.certificates { _ = try? signed.verify(signer: certificate, signerInfo: signer) }
        }
    }
    if let keys = deviceKeys(fixtures) { _ = try? EnvelopedData.open(input, with: keys) }
}

func fuzzCertRep(_ input: [UInt8], _ fixtures: Fixtures) {
    guard let ca = fixtures.ca else { return }
    // The transaction ID and nonce the reply claims are taken as the ones we sent, so a valid
    // reply gets past those checks to the outcome and the envelope.
    let attributes = (try? SignedData(message: input))?.signers.first?.signedAttributes ?? []
    let transactionID = attributes.value(of: OID.scepTransactionID).flatMap { bytes -> String? in
        var reader = DERReader(bytes)
        return try? reader.readString()
    } ?? "fuzz"
    let nonce = attributes.value(of: OID.scepRecipientNonce).flatMap { bytes -> [UInt8]? in
        var reader = DERReader(bytes)
        return (try? reader.readOctetString()).map { Array($0) }
    } ?? []
    guard let reply = try? CertRep(reply: input, expectedTransactionID: transactionID, senderNonce: nonce, ca: ca,
                                   authenticatedServer: false) else { return }
    if case .success(let envelope) = reply.outcome, let keys = deviceKeys(fixtures), let certificate = fixtures.deviceCertificate {
        if let opened = try? CertRep.open(envelope, with: keys) {
            _ = try? CertRep.issued(from: opened, expectedPublicKey: certificate.publicKeyInfo, ca: ca)
        }
    }
}

func fuzzHTTP(_ input: [UInt8]) {
    // The same bytes whole, and split where the first byte says: a reply arriving in two reads.
    let parser = HTTPResponseParser(maximumBodySize: 64 * 1024, maximumHeaderSize: 4096)
    _ = try? parser.parse(input, atEnd: true)
    let split = input.isEmpty ? 0 : Int(input[0]) % (input.count + 1)
    if (try? parser.parse(Array(input[..<split]), atEnd: false)) != nil { return }
    _ = try? parser.parse(input, atEnd: true)
}

func fuzzCaps(_ input: [UInt8]) {
    let capabilities = Capabilities(text: input)
    _ = capabilities.requestCipher(allowWeak: true)
    _ = capabilities.has("Renewal")
    for contentType in ["application/x-x509-ca-cert", "application/x-x509-ca-ra-cert", "application/x-x509-next-ca-cert", "text/plain"] {
        _ = try? CACertificates.parse(SCEPResponse(status: 200, contentType: contentType, body: input))
    }
}

func fuzzConfig(_ input: [UInt8]) {
    guard let entries = try? ConfigFile.parse(input, path: "fuzz.conf") else { return }
    var settings = Settings()
    for entry in entries { try? settings.apply(entry.name, entry.value, source: "fuzz") }
    try? settings.expandSubject()
}

/// The parsers for the keystore's small text files, then a whole load: the input is split into
/// cert.pem, key.pem, chain.pem and meta at "\0--\0", and a manifest and pointer that match are
/// written beside them, so the load gets past the integrity check to the parsers behind it.
func fuzzKeystore(_ input: [UInt8], _ fixtures: Fixtures) {
    _ = GenerationPointer(input)
    _ = GenerationFiles.parseManifest(input)
    _ = IdentityMetadata(parsing: input)

    var parts: [[UInt8]] = [[]]
    var index = 0
    while index < input.count {
        if index + 4 <= input.count, input[index] == 0, input[index + 1] == 0x2d, input[index + 2] == 0x2d, input[index + 3] == 0 {
            parts.append([])
            index += 4
        } else {
            parts[parts.count - 1].append(input[index])
            index += 1
        }
    }
    let names = [GenerationFiles.certificate, GenerationFiles.key, GenerationFiles.chain, GenerationFiles.meta]
    let root = fixtures.scratch
    let generation = root + "/gen-000001"
    mkdir(root, 0o700)
    mkdir(generation, 0o700)
    var files: [(name: String, digest: [UInt8])] = []
    for (name, bytes) in zip(names, parts) {
        write(generation + "/" + name, bytes)
        files.append((name, DigestAlgorithm.sha256.hash(bytes)))
    }
    let manifest = GenerationFiles.manifest(files)
    write(generation + "/" + GenerationFiles.manifest, manifest)
    write(root + "/current", GenerationPointer(generation: "gen-000001", manifestDigest: DigestAlgorithm.sha256.hash(manifest)).bytes)
    if let keystore = try? Keystore(path: root, create: false, forWriting: false, random: fixtures.random) {
        _ = try? keystore.load()
        _ = keystore.readState()
    }
    for name in names + [GenerationFiles.manifest] { unlink(generation + "/" + name) }
}

func write(_ path: String, _ bytes: [UInt8]) {
    #if canImport(Glibc)
    let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
    #else
    let descriptor = scep_open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
    #endif
    guard descriptor >= 0 else { return }
    _ = bytes.withUnsafeBytes { (buffer: UnsafeRawBufferPointer) -> Int in write(descriptor, buffer.baseAddress, buffer.count) }
    close(descriptor)
}

/// Everything the key process reads from a network process: the framing is the channel's (a
/// length it checks), so the input is one message. Requests are parsed as the key server parses
/// them; results, logs and jobs (the network process's own input) too.
func fuzzWire(_ input: [UInt8]) {
    _ = try? NetworkJob(decoding: input)
    guard let (kind, reader) = try? Wire.decode(input) else { return }
    var fields = reader
    switch kind {
    case .log: _ = try? KeyServer.logLine(&fields)
    case .result: _ = try? NetworkResult(fields: &fields)
    case .warn: _ = try? fields.readText()
    default: _ = try? KeyRequest(kind, &fields)
    }
}

/// A DNS answer to a query whose ID and question the first bytes choose, for A and AAAA; then
/// the same bytes as resolver configuration text.
func fuzzDNS(_ input: [UInt8]) {
    let id = input.count >= 2 ? UInt16(input[0]) << 8 | UInt16(input[1]) : 0
    for type: UInt16 in [1, 28] {
        _ = try? DNSMessage.addresses(in: input, id: id, name: "scep.example.net", type: type)
    }
    _ = ResolverConfiguration(resolvConf: input, hosts: input)
}

/// The TPM's side of a conversation, as the agent meets it with swtpm (no resource manager): the
/// input is its responses in order, each behind a 2-byte length (Tests/Fuzz/capture-tpm-seed.py
/// records real ones from swtpm). An RSA enrollment, then an EC one (key agreement), then the
/// bytes are read as a key file.
func fuzzTPM(_ input: [UInt8]) {
    final class Script {
        var responses: [[UInt8]] = []
        var next = 0
    }
    let script = Script()
    var at = 0
    while at + 2 <= input.count {
        let length = Int(input[at]) << 8 | Int(input[at + 1])
        at += 2
        let end = min(at + length, input.count)
        script.responses.append(Array(input[at..<end]))
        at = end
    }
    // Out of responses: a TPM in failure mode.
    let failure: [UInt8] = [0x80, 0x01, 0, 0, 0, 10, 0, 0, 0x01, 0x01]
    let tpm = TPM(address: .tcp(host: IPAddress("127.0.0.1")!, port: 2321), connect: { () throws(TPMError) -> TPMConnection in
        TPMConnection(exchange: { (_, response) throws(TPMError) -> Int in
            let answer = script.next < script.responses.count ? script.responses[script.next] : failure
            script.next += 1
            let count = min(answer.count, response.count)
            response.withMutableBytes { out in for index in 0..<count { out[index] = answer[index] } }
            return count
        }, close: {})
    })
    // As an enrollment: the CSR, the transaction's self-signed certificate and the SignerInfo
    // are signed, then the reply's content key is opened.
    let digest = DigestAlgorithm.sha256.hash(input)
    if let key = try? tpm.generate(.rsa(bits: 2048)) {
        for _ in 0..<3 { _ = try? key.sign(digest: digest, algorithm: .sha256) }
        _ = try? key.decrypt([UInt8](repeating: 0x42, count: 256))
    }
    if let key = try? tpm.generate(.ec(.p256)) {
        for _ in 0..<3 { _ = try? key.sign(digest: digest, algorithm: .sha256) }
        _ = try? key.agree(peerPoint: [0x04] + [UInt8](repeating: 1, count: 64))
    }
    _ = try? tpm.load(keyFile: input)
}
