import ASN1
import CMS
import Crypto
import Encoding
import X509

/// The SCEP operations of RFC 8894 section 4 over any transport. Every method is bytes in,
/// bytes out through `Transport`, so tests drive it with an in-process responder.
public struct SCEPClient<Transport: SCEPTransport> {
    public var transport: Transport

    public init(transport: Transport) { self.transport = transport }

    /// GetCACaps. An HTTP error or an empty body means "no capabilities" (section 3.5.2); only a
    /// failure to reach the server at all is an error.
    public mutating func capabilities() throws(SCEPError) -> Capabilities {
        let response = try transport.get(query: "operation=GetCACaps")
        guard response.status == 200 else { return .none }
        return Capabilities(text: response.body)
    }

    /// GetCACert, pinned. A mismatch throws before any request could be sent.
    public mutating func caCertificates(pin: [UInt8], raPins: [[UInt8]] = [], now: Int64?) throws(SCEPError) -> CACertificates {
        try CACertificates(response: try transport.get(query: "operation=GetCACert"), pin: pin, raPins: raPins, now: now)
    }

    /// GetCACert without pinning: only for showing a person what the server offers.
    public mutating func caCertificatesUnpinned() throws(SCEPError) -> [Certificate] {
        try CACertificates.parse(try transport.get(query: "operation=GetCACert"))
    }

    /// GetNextCACert (section 4.7): the CA that will replace the current one, checked by
    /// `verifyNextCA`. Nil when the server has none to offer.
    public mutating func nextCA(current ca: CACertificates, now: Int64?) throws(SCEPError) -> Certificate? {
        guard let body = try nextCABody() else { return nil }
        return try ca.verifyNextCA(body)
    }

    /// GetNextCACert's answer as it came, unchecked; nil when the server has none to offer.
    public mutating func nextCABody() throws(SCEPError) -> [UInt8]? {
        let response = try transport.get(query: "operation=GetNextCACert")
        guard response.status == 200, !response.body.isEmpty else { return nil }
        return response.body
    }

    /// The longest GET query sent. Common servers accept a request line of 8 KiB by default
    /// (Apache's LimitRequestLine is 8190 bytes, nginx's large_client_header_buffers 8 KiB); a
    /// query of at most 8000 bytes leaves room for the method, path, version and a long host
    /// name. An RSA-2048 PKCSReq needs about 3.5 KB, an RSA-4096 one with a long subject and
    /// extensions can pass 8 KB: then only POST can carry it.
    public static var maximumGETQuery: Int { 8000 }

    /// Sends a pkiMessage: POST when the server supports it, else GET with the message in standard
    /// base64, percent-encoded (section 4.1). Returns the reply's DER.
    public mutating func pkiOperation(_ message: [UInt8], capabilities: Capabilities) throws(SCEPError) -> [UInt8] {
        let operation = SCEPOperation.pkiOperation(.certRep)
        let response: SCEPResponse
        if capabilities.supportsPOST {
            response = try transport.post(query: "operation=PKIOperation", body: message, contentType: "application/x-pki-message")
        } else {
            let query = "operation=PKIOperation&message=" + PercentEncoding.encodeQueryValue(Base64.encode(message))
            let length = query.utf8.count
            guard length <= SCEPClient.maximumGETQuery else { throw .getTooLong(length: length, limit: SCEPClient.maximumGETQuery) }
            response = try transport.get(query: query)
        }
        guard response.status == 200 else { throw .httpStatus(response.status, operation) }
        let type = response.mediaType
        guard type == "application/x-pki-message" || type == "application/pkcs7-mime" || type.isEmpty
                || type == "application/octet-stream" else {
            throw .unexpectedContentType(response.contentType, operation)
        }
        return response.body
    }
}

extension CACertificates {
    /// The next CA from a GetNextCACert answer: a SignedData signed by the current CA (or an RA
    /// under it), holding a certificate that is itself a valid anchor-to-be (a self-signed CA).
    /// Pure, so the key process checks the network process's find with its own pin.
    public func verifyNextCA(_ body: [UInt8]) throws(SCEPError) -> Certificate {
        let operation = SCEPOperation.getNextCACert
        let signed: SignedData
        do { signed = try SignedData(message: body) } catch { throw SCEPError.from(error, operation) }
        guard signed.signers.count == 1, let signerInfo = signed.signers.first else { throw .rejected(operation, .unsigned) }
        let signer = try replySigner(for: signerInfo, extra: signed.certificates, operation: operation)
        // The next trust anchor is vouched for only by the pinned CA, a CA under it, or an RA
        // certificate marked or pinned as such: never by an unmarked end-entity certificate,
        // which could be any device's (this one's included).
        guard signer.isCA || signer == anchor || signer.isRegistrationAuthority || isPinnedRA(signer) else {
            throw .rejected(operation, .signerNotAllowed(subject: signer.subject.rfc4514String, why: .notPinned))
        }
        do { _ = try signed.verify(signer: signer, signerInfo: signerInfo) } catch { throw SCEPError.from(error, operation) }
        guard let content = signed.content else { throw .rejected(operation, .noIssuedCertificate) }
        let bag: SignedData
        do { bag = try SignedData(message: content) } catch { throw SCEPError.from(error, operation) }
        guard let next = bag.certificates.first(where: { $0.isCA && $0.isSelfIssued }) ?? bag.certificates.first else {
            throw .rejected(operation, .noIssuedCertificate)
        }
        do throws(PathError) { try PathValidation.validateAnchor(next, now: nil) } catch { throw .untrustedCertificate(error) }
        return next
    }
}
