import ASN1
import CMS
import Crypto
import Encoding
import Foundation
import Protocol
import X509

/// Faults the responder can inject: every way a server, a proxy or an attacker can go wrong.
public enum ResponderFault: String, CaseIterable, Sendable {
    case none
    case pendingTwice = "pending-twice"
    case pendingForever = "pending-forever"
    case failureBadRequest = "failure-badrequest"
    case failureBadMessageCheck = "failure-badmessagecheck"
    case failureBadAlg = "failure-badalg"
    case failureBadTime = "failure-badtime"
    case failureBadCertID = "failure-badcertid"
    case badSignature = "bad-signature"
    case foreignSigner = "foreign-signer"
    case wrongNonce = "wrong-nonce"
    case wrongTransaction = "wrong-transaction"
    case wrongMessageType = "wrong-message-type"
    case replay
    case encryptedToSomeoneElse = "encrypted-to-someone-else"
    case issuedForOtherKey = "issued-for-other-key"
    case truncated
    case oversized
    case wrongContentType = "wrong-content-type"
    case http500 = "http-500"
    case http404 = "http-404"
    case desOnlyCapabilities = "des-only"
    case noPOST = "no-post"
    case noRenewal = "no-renewal"
    case refuseRenewal = "refuse-renewal"
    // Transport faults, injected by the responder's HTTP server (Tests/Responder) on PKIOperation:
    /// the reply's body one byte every half second: slower than any sane deadline.
    case slowDrip = "slow-drip"
    /// the request is read, then the connection is reset (RST) without an answer.
    case connectionReset = "connection-reset"
    // Numbers past what a 32-bit Int holds, in GetCACert's answer (before any pin check): they
    // killed the armv7hf build with SIGILL until lengths were parsed with checked arithmetic.
    /// `Content-Length: 99999999999`.
    case hugeContentLength = "huge-content-length"
    /// A chunked body whose first chunk size is `80000000` (2 GiB).
    case hugeChunk = "huge-chunk"
    /// A body that starts `30 84 ff ff ff f0`: a DER length of 4 GiB less 16.
    case hugeDERLength = "huge-der-length"
}

/// What GetCACert answers, and so who decrypts requests and signs replies.
public enum ResponderBag: String, CaseIterable, Sendable {
    /// The CA certificate alone: it decrypts and signs.
    case caOnly = "ca"
    /// NDES's shape: the CA, an encryption RA and a signing RA, both marked with the Certificate
    /// Request Agent purpose.
    case splitRA = "ca-ra"
    /// A root (the pin) and an issuing intermediate CA that decrypts, signs and issues.
    case intermediate
    /// An attack: the CA, another device's certificate (CA:FALSE) and an "RA" that device's key
    /// issued; the fake RA signs replies. A client must refuse it.
    case deviceRA = "device-ra"
}

/// A SCEP server in a box: answers GetCACaps, GetCACert and PKIOperation as a real CA would,
/// except for the fault it was told to inject. Replies are built with the CMS layer and signed
/// with SHA-256 and AES, or with SHA-1 and single DES when `legacyAlgorithms` mimics micromdm.
/// PENDING and FAILURE replies carry no content, as RFC 8894 section 3.3.2 has them, unless
/// `contentInEveryReply` mimics micromdm, which sends an empty one.
public final class TestResponder {
    public private(set) var ca: TestCA
    /// With `nextCA`: from this time on (the responder's clock) the next CA takes over.
    public var rolloverAt: Int64?
    public var fault: ResponderFault
    public var legacyAlgorithms = false
    public var contentInEveryReply = false
    /// Answer EC clients with a password recipient (the challenge) instead of key agreement.
    public var passwordReplies = false
    public var bag: ResponderBag = .caOnly {
        didSet { try? makeBagCertificates() }
    }
    public var challenge: [UInt8]? = Array("s3cret".utf8)
    public var certificateLifetime: Int64 = 86_400
    /// The responder's clock, for tests that simulate time; the real clock when nil.
    public var clock: (() -> Int64)?
    /// The CA that GetNextCACert announces, if any.
    public var nextCA: TestCA?
    /// What the responder saw, for assertions.
    public private(set) var pkiOperations: [String] = []
    public private(set) var lastRequestDER: [UInt8] = []
    private var pendingCounts: [String: Int] = [:]
    private var firstReply: [UInt8]?
    private let stranger: TestCA

    /// Who decrypts requests and who signs replies, by the bag.
    private var decrypters: [(key: PrivateKey, certificate: Certificate)] = []
    private var signer: (key: PrivateKey, certificate: Certificate)
    private var issuer: TestCA
    private var bagCertificates: [Certificate] = []

    public init(ca: TestCA, fault: ResponderFault = .none) throws {
        self.ca = ca
        self.fault = fault
        stranger = try TestCA(subject: "CN=Stranger CA")
        signer = (ca.key, ca.certificate)
        issuer = ca
        try makeBagCertificates()
    }

    private func makeBagCertificates() throws {
        let agent = CertificateExtension.extendedKeyUsage([OID.microsoftCertificateRequestAgent])
        decrypters = [(ca.key, ca.certificate)]
        signer = (ca.key, ca.certificate)
        issuer = ca
        bagCertificates = [ca.certificate]
        switch bag {
        case .caOnly:
            break
        case .splitRA:
            let encryption = try ca.issueKey(subject: "CN=SCEP RA encryption", extensions: [.keyUsage([.keyEncipherment]), agent])
            let signing = try ca.issueKey(subject: "CN=SCEP RA signing", extensions: [.keyUsage([.digitalSignature]), agent])
            decrypters = [encryption]
            signer = signing
            bagCertificates = [ca.certificate, encryption.certificate, signing.certificate]
        case .intermediate:
            let intermediate = try TestCA(subject: "CN=Issuing CA,O=scep-agent tests", issuer: ca)
            decrypters = [(intermediate.key, intermediate.certificate)]
            signer = (intermediate.key, intermediate.certificate)
            issuer = intermediate
            bagCertificates = [ca.certificate, intermediate.certificate]
        case .deviceRA:
            let device = try ca.issueKey(subject: "CN=Another Device",
                                         extensions: [.basicConstraints(BasicConstraints(isCA: false)),
                                                      .keyUsage([.digitalSignature, .keyEncipherment])])
            let deviceAsCA = try TestCA(key: device.key, certificate: device.certificate)
            let fakeRA = try deviceAsCA.issueKey(subject: "CN=Fake RA", extensions: [.keyUsage([.digitalSignature, .keyEncipherment])])
            decrypters = [(ca.key, ca.certificate), device, fakeRA]
            signer = fakeRA
            bagCertificates = [ca.certificate, device.certificate, fakeRA.certificate]
        }
    }

    public var capabilitiesText: String {
        switch fault {
        case .desOnlyCapabilities: "DES3\nSHA-1\nPOSTPKIOperation\n"
        case .noPOST: "AES\nSHA-256\nRenewal\n"
        case .noRenewal: "AES\nSHA-256\nPOSTPKIOperation\n"
        default: "Renewal\r\nSHA-1\r\nSHA-256\r\nAES\r\nDES3\r\nSCEPStandard\r\nPOSTPKIOperation\r\n"
            + (nextCA != nil ? "GetNextCACert\r\n" : "")
        }
    }

    /// One HTTP exchange: operation and message in, status, content type and body out.
    public func handle(operation: String, message: [UInt8]?) -> SCEPResponse {
        if let rolloverAt, let next = nextCA, let now = clock?(), now >= rolloverAt {
            ca = next
            nextCA = nil
            self.rolloverAt = nil
            try? makeBagCertificates()
        }
        switch fault {
        case .http500: return SCEPResponse(status: 500, contentType: "text/plain", body: Array("internal error".utf8))
        case .http404 where operation == "PKIOperation": return SCEPResponse(status: 404, contentType: "text/plain", body: [])
        default: break
        }
        switch operation {
        case "GetCACaps":
            return SCEPResponse(status: 200, contentType: "text/plain", body: Array(capabilitiesText.utf8))
        case "GetCACert":
            if fault == .hugeDERLength {
                return SCEPResponse(status: 200, contentType: "application/x-x509-ca-ra-cert",
                                    body: [0x30, 0x84, 0xff, 0xff, 0xff, 0xf0] + ca.certificate.der)
            }
            if bag == .caOnly { return SCEPResponse(status: 200, contentType: "application/x-x509-ca-cert", body: ca.certificate.der) }
            return SCEPResponse(status: 200, contentType: "application/x-x509-ca-ra-cert",
                                body: SignedData.certificatesOnly(bagCertificates.map { $0.der }))
        case "GetNextCACert":
            guard let next = nextCA else { return SCEPResponse(status: 404, contentType: "text/plain", body: []) }
            do {
                let signerCA = fault == .foreignSigner ? stranger : ca
                var body = try SignedData.build(content: SignedData.certificatesOnly([next.certificate.der]),
                                                signer: CMSSigner(key: signerCA.key, certificate: signerCA.certificate, digest: .sha256),
                                                attributes: [])
                if fault == .badSignature { body[body.count - 8] ^= 0x01 }
                return SCEPResponse(status: 200, contentType: "application/x-x509-next-ca-cert", body: body)
            } catch {
                return SCEPResponse(status: 500, contentType: "text/plain", body: [])
            }
        case "PKIOperation":
            guard let message else { return SCEPResponse(status: 400, contentType: "text/plain", body: []) }
            do {
                var reply = try pkiOperation(message)
                var contentType = "application/x-pki-message"
                switch fault {
                case .truncated: reply = Array(reply.prefix(reply.count / 2))
                case .oversized: reply += [UInt8](repeating: 0x41, count: 2 << 20)
                case .wrongContentType: contentType = "text/html"
                case .replay:
                    if let first = firstReply { reply = first } else { firstReply = reply }
                default: break
                }
                return SCEPResponse(status: 200, contentType: contentType, body: reply)
            } catch {
                return SCEPResponse(status: 500, contentType: "text/plain", body: Array("\(error)".utf8))
            }
        default:
            return SCEPResponse(status: 404, contentType: "text/plain", body: [])
        }
    }

    public struct Request {
        public let type: String
        public let transactionID: String
        public let senderNonce: [UInt8]
        public let signer: Certificate
        public let content: [UInt8]

        public init(type: String, transactionID: String, senderNonce: [UInt8], signer: Certificate, content: [UInt8]) {
            self.type = type
            self.transactionID = transactionID
            self.senderNonce = senderNonce
            self.signer = signer
            self.content = content
        }
    }

    func pkiOperation(_ message: [UInt8]) throws -> [UInt8] {
        lastRequestDER = message
        let signed = try SignedData(message: message)
        let signerInfo = try require(signed.signers.first, "no signer")
        let signer = try require(signed.certificates.first { signerInfo.identifies($0) }, "signer certificate missing")
        let attributes = try signed.verify(signer: signer, signerInfo: signerInfo)
        let envelope = try require(signed.content, "no content")
        var opened: EnvelopedData.Opened? = nil
        for decrypter in decrypters where opened == nil {
            opened = try? EnvelopedData.open(envelope, with: EnvelopedData.Keys(key: decrypter.key, certificate: decrypter.certificate))
        }
        let inner = try require(opened, "the request is not encrypted to this server")
        let request = Request(type: try printable(attributes.value(of: OID.scepMessageType)),
                              transactionID: try printable(attributes.value(of: OID.scepTransactionID)),
                              senderNonce: try octets(attributes.value(of: OID.scepSenderNonce)),
                              signer: signer, content: inner.content)
        pkiOperations.append(request.type)
        if request.type == "19" || request.type == "17" { pendingCSRs[request.transactionID] = request.content }

        switch fault {
        case .failureBadRequest: return try certRep(for: request, status: "2", failInfo: "2", failText: "challenge password rejected")
        case .failureBadMessageCheck: return try certRep(for: request, status: "2", failInfo: "1", failText: nil)
        case .failureBadAlg: return try certRep(for: request, status: "2", failInfo: "0", failText: "SHA-256 is not supported here")
        case .failureBadTime: return try certRep(for: request, status: "2", failInfo: "3", failText: nil)
        case .failureBadCertID: return try certRep(for: request, status: "2", failInfo: "4", failText: "no such certificate")
        case .refuseRenewal where request.type == "17":
            return try certRep(for: request, status: "2", failInfo: "2", failText: "renewal refused")
        case .pendingForever: return try certRep(for: request, status: "3")
        case .pendingTwice:
            let count = pendingCounts[request.transactionID, default: 0]
            if count < 2 {
                pendingCounts[request.transactionID] = count + 1
                return try certRep(for: request, status: "3")
            }
        default: break
        }

        if request.type == "21" || request.type == "22" { return try query(request) }
        guard request.type == "19" || request.type == "17" || request.type == "20" else {
            return try certRep(for: request, status: "2", failInfo: "2", failText: "unsupported messageType")
        }
        // A CertPoll for a transaction this server never saw (another instance's): FAILURE
        // badCertId, as a server that keeps its transactions would answer.
        guard let csrDER = pendingCSRs[request.transactionID] else {
            if request.type == "20" { return try certRep(for: request, status: "2", failInfo: "4", failText: "unknown transaction") }
            throw ResponderError(description: "unknown transaction")
        }
        let csr = try CertificationRequest(der: csrDER)
        guard csr.verifySignature() else { return try certRep(for: request, status: "2", failInfo: "1", failText: "bad CSR signature") }
        if let challenge, request.type == "19", csr.challengePassword != challenge {
            return try certRep(for: request, status: "2", failInfo: "2", failText: "challenge password rejected")
        }
        var publicKey = csr.publicKeyInfo
        if fault == .issuedForOtherKey { publicKey = stranger.key.publicKeyInfo }
        let issued = try issuer.issue(subject: csr.subject, publicKeyInfo: publicKey, lifetime: certificateLifetime,
                                      notBefore: clock.map { $0() - 60 })
        issuedCertificates.append(issued)
        let chain = [issued.der] + (issuer === ca ? [ca.certificate.der] : [issuer.certificate.der, ca.certificate.der])
        let bag = SignedData.certificatesOnly(chain)
        return try certRep(for: request, status: "0", content: try replyEnvelope(bag, for: request))
    }

    /// The SUCCESS envelope: to the request's signer, by key transport or key agreement as its
    /// key allows, or to the challenge password when `passwordReplies` is set for EC clients.
    func replyEnvelope(_ content: [UInt8], for request: Request) throws -> [UInt8] {
        let cipher: ContentCipher = legacyAlgorithms ? .desCBC : .aes128CBC
        if fault == .encryptedToSomeoneElse {
            return try EnvelopedData.build(content: SecretBytes(content), to: .certificate(stranger.certificate), cipher: cipher, random: ca.random)
        }
        if passwordReplies, request.signer.keyType?.isRSA == false, let challenge {
            return try EnvelopedData.build(content: SecretBytes(content), to: .password(SecretBytes(challenge)), cipher: cipher, random: ca.random)
        }
        return try EnvelopedData.build(content: SecretBytes(content), to: .certificate(request.signer), cipher: cipher, random: ca.random)
    }

    private var pendingCSRs: [String: [UInt8]] = [:]
    public private(set) var issuedCertificates: [Certificate] = []

    /// GetCert and GetCRL: the content is an IssuerAndSerialNumber.
    func query(_ request: Request) throws -> [UInt8] {
        let target = try IssuerAndSerialNumber(derEncoded: request.content)
        guard let found = issuedCertificates.first(where: { target.identifies($0) }) else {
            return try certRep(for: request, status: "2", failInfo: "4", failText: "no such certificate")
        }
        let bag: [UInt8]
        if request.type == "21" {
            bag = SignedData.certificatesOnly([found.der])
        } else {
            let crl = try issuer.emptyCRL()
            bag = DER.encode { writer in
                writer.writeSequence { writer in
                    writer.write(OID.signedData)
                    writer.writeExplicit(0) { writer in
                        writer.writeSequence { writer in
                            writer.writeInteger(1)
                            writer.writeConstructed(DERTag.set) { _ in }
                            writer.writeSequence { $0.write(OID.data) }
                            writer.writeConstructed(DERTag.contextConstructed(1)) { $0.writeEncoded(crl) }
                            writer.writeConstructed(DERTag.set) { _ in }
                        }
                    }
                }
            }
        }
        return try certRep(for: request, status: "0", content: try replyEnvelope(bag, for: request))
    }

    public func certRep(for request: Request, status: String, failInfo: String? = nil, failText: String? = nil,
                 content: [UInt8]? = nil) throws -> [UInt8] {
        var attributes = [
            Attribute(OID.scepTransactionID) { $0.writePrintableString(fault == .wrongTransaction ? "not-your-transaction" : request.transactionID) },
            Attribute(OID.scepMessageType) { $0.writePrintableString(fault == .wrongMessageType ? "19" : "3") },
            Attribute(OID.scepPKIStatus) { $0.writePrintableString(status) },
            Attribute(OID.scepSenderNonce, DER.encode { $0.writeOctetString(try! ca.random.bytes(16)) }),
            Attribute(OID.scepRecipientNonce, DER.encode { $0.writeOctetString(fault == .wrongNonce ? try! ca.random.bytes(16) : request.senderNonce) }),
        ]
        if let failInfo { attributes.append(Attribute(OID.scepFailInfo) { $0.writePrintableString(failInfo) }) }
        if let failText { attributes.append(Attribute(OID.scepFailInfoText) { $0.writeUTF8String(failText) }) }
        let signing = fault == .foreignSigner ? (stranger.key, stranger.certificate) : signer
        let cmsSigner = CMSSigner(key: signing.0, certificate: signing.1, digest: legacyAlgorithms ? .sha1 : .sha256)
        var reply = try SignedData.build(content: content ?? (contentInEveryReply ? [] : nil), signer: cmsSigner, attributes: attributes)
        if fault == .badSignature { reply[reply.count - 8] ^= 0x01 }
        return reply
    }
}

/// The responder as an in-process transport, so protocol tests need no network.
public struct InProcessTransport: SCEPTransport {
    public let responder: TestResponder
    public var authenticatesServer = false
    public private(set) var requests: [(method: String, query: String)] = []

    public init(responder: TestResponder) { self.responder = responder }

    public mutating func get(query: String) throws(SCEPError) -> SCEPResponse {
        requests.append(("GET", query))
        let (operation, message) = InProcessTransport.split(query)
        return responder.handle(operation: operation, message: message)
    }

    public mutating func post(query: String, body: [UInt8], contentType: String) throws(SCEPError) -> SCEPResponse {
        requests.append(("POST", query))
        return responder.handle(operation: InProcessTransport.split(query).operation, message: body)
    }

    /// Decodes `operation=X&message=Y` the way a server would: percent-decoding, then base64.
    public static func split(_ query: String) -> (operation: String, message: [UInt8]?) {
        var operation = ""
        var message: [UInt8]? = nil
        for pair in query.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1)
            guard parts.count == 2 else { continue }
            if parts[0] == "operation" { operation = String(parts[1]) }
            if parts[0] == "message", let decoded = String(parts[1]).removingPercentEncoding {
                message = Base64.decode(Array(decoded.utf8))
            }
        }
        return (operation, message)
    }
}

struct ResponderError: Error, CustomStringConvertible {
    let description: String
}

func require<T>(_ value: T?, _ message: String) throws -> T {
    guard let value else { throw ResponderError(description: message) }
    return value
}

func printable(_ value: [UInt8]?) throws -> String {
    var reader = DERReader(try require(value, "attribute missing"))
    return String(decoding: try reader.read(DERTag.printableString).contents, as: UTF8.self)
}

func octets(_ value: [UInt8]?) throws -> [UInt8] {
    var reader = DERReader(try require(value, "attribute missing"))
    return Array(try reader.readOctetString())
}
