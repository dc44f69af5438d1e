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
}

/// A SCEP server in a box: answers GetCACaps, GetCACert and PKIOperation as a real CA would,
/// except for the fault it was told to inject. Replies are built with the CMS layer and signed
/// with SHA-256 and AES, or with SHA-1 and single DES when `legacyAlgorithms` mimics micromdm.
public final class TestResponder {
    public private(set) var ca: TestCA
    /// With `nextCA`: from this time on (the responder's clock) the next CA takes over.
    public var rolloverAt: Int64?
    public var fault: ResponderFault
    public var legacyAlgorithms = false
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

    public init(ca: TestCA, fault: ResponderFault = .none) throws {
        self.ca = ca
        self.fault = fault
        stranger = try TestCA(subject: "CN=Stranger CA")
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
            return SCEPResponse(status: 200, contentType: "application/x-x509-ca-cert", body: ca.certificate.der)
        case "GetNextCACert":
            guard let next = nextCA else { return SCEPResponse(status: 404, contentType: "text/plain", body: []) }
            do {
                let signerCA = fault == .foreignSigner ? stranger : ca
                var body = try SignedData.build(content: SignedData.certificatesOnly([next.certificate.der]),
                                                signer: CMSSigner(key: signerCA.key, certificate: signerCA.certificate, digest: .sha256),
                                                attributes: [], random: ca.random)
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

    struct Request {
        let type: String
        let transactionID: String
        let senderNonce: [UInt8]
        let signer: Certificate
        let content: [UInt8]
    }

    func pkiOperation(_ message: [UInt8]) throws -> [UInt8] {
        lastRequestDER = message
        let signed = try SignedData(der: message, context: "request")
        let signerInfo = try require(signed.signers.first, "no signer")
        let signer = try require(signed.certificates.first { signerInfo.identifies($0) }, "signer certificate missing")
        let attributes = try signed.verify(signer: signer, signerInfo: signerInfo)
        let envelope = try require(signed.content, "no content")
        let inner = try EnvelopedData.open(envelope, key: ca.key, certificate: ca.certificate, random: ca.random, context: "request")
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
        let csrDER: [UInt8]
        csrDER = try require(pendingCSRs[request.transactionID], "unknown transaction")
        let csr = try CertificationRequest(der: csrDER)
        guard csr.verifySignature() else { return try certRep(for: request, status: "2", failInfo: "1", failText: "bad CSR signature") }
        if let challenge, request.type == "19", csr.challengePassword != challenge {
            return try certRep(for: request, status: "2", failInfo: "2", failText: "challenge password rejected")
        }
        var publicKey = csr.publicKeyInfo
        if fault == .issuedForOtherKey { publicKey = try stranger.key.publicKeyInfoDER() }
        let issued = try ca.issue(subject: csr.subject, publicKeyInfo: publicKey, lifetime: certificateLifetime,
                                  notBefore: clock.map { $0() - 60 })
        issuedCertificates.append(issued)
        let bag = SignedData.certificatesOnly([issued.der, ca.certificate.der])
        let recipient = fault == .encryptedToSomeoneElse ? stranger.certificate : request.signer
        let envelopeOut = try EnvelopedData.build(content: bag, recipient: recipient, cipher: legacyAlgorithms ? .desCBC : .aes128CBC,
                                                  random: ca.random)
        return try certRep(for: request, status: "0", content: envelopeOut)
    }

    private var pendingCSRs: [String: [UInt8]] = [:]
    public private(set) var issuedCertificates: [Certificate] = []

    /// GetCert and GetCRL: the content is an IssuerAndSerialNumber.
    func query(_ request: Request) throws -> [UInt8] {
        var reader = try DERReader(request.content, context: "query")
        let target = try IssuerAndSerialNumber(from: &reader, "query")
        guard let found = issuedCertificates.first(where: { target.identifies($0) }) else {
            return try certRep(for: request, status: "2", failInfo: "4", failText: "no such certificate")
        }
        let bag: [UInt8]
        if request.type == "21" {
            bag = SignedData.certificatesOnly([found.der])
        } else {
            bag = ContentInfo.wrap(OID.signedData, DER.sequence([
                DER.integer(1), DER.tlv(DERTag.set, [UInt8]()), DER.sequence([DER.objectIdentifier(OID.data)]),
                DER.tlv(DERTag.contextConstructed(1), try ca.emptyCRL()), DER.tlv(DERTag.set, [UInt8]()),
            ]))
        }
        let envelope = try EnvelopedData.build(content: bag, recipient: request.signer, cipher: .aes128CBC, random: ca.random)
        return try certRep(for: request, status: "0", content: envelope)
    }

    func certRep(for request: Request, status: String, failInfo: String? = nil, failText: String? = nil,
                 content: [UInt8] = []) throws -> [UInt8] {
        var attributes = [
            Attribute(OID.scepTransactionID, DER.printableString(fault == .wrongTransaction ? "not-your-transaction" : request.transactionID)),
            Attribute(OID.scepMessageType, DER.printableString(fault == .wrongMessageType ? "19" : "3")),
            Attribute(OID.scepPKIStatus, DER.printableString(status)),
            Attribute(OID.scepSenderNonce, DER.octetString(try ca.random.bytes(16))),
            Attribute(OID.scepRecipientNonce, DER.octetString(fault == .wrongNonce ? try ca.random.bytes(16) : request.senderNonce)),
        ]
        if let failInfo { attributes.append(Attribute(OID.scepFailInfo, DER.printableString(failInfo))) }
        if let failText { attributes.append(Attribute(OID.scepFailInfoText, DER.utf8String(failText))) }
        let signerCA = fault == .foreignSigner ? stranger : ca
        let signer = CMSSigner(key: signerCA.key, certificate: signerCA.certificate, digest: legacyAlgorithms ? .sha1 : .sha256)
        var reply = try SignedData.build(content: content, signer: signer, attributes: attributes, random: ca.random)
        if fault == .badSignature { reply[reply.count - 8] ^= 0x01 }
        return reply
    }
}

/// The responder as an in-process transport, so protocol tests need no network.
public struct InProcessTransport: SCEPTransport {
    public let responder: TestResponder
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
    var reader = try DERReader(try require(value, "attribute missing"), context: "attribute")
    return String(decoding: try reader.read(DERTag.printableString).contents, as: UTF8.self)
}

func octets(_ value: [UInt8]?) throws -> [UInt8] {
    var reader = try DERReader(try require(value, "attribute missing"), context: "attribute")
    return Array(try reader.readOctetString())
}
