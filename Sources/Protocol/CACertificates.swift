import ASN1
import CMS
import Encoding
import X509

/// The CA's certificates as GetCACert returned them, tied to the pinned fingerprint.
///
/// Construction is the pinning step: if no certificate hashes to the pin, there is no
/// `CACertificates` and so no way to send a request.
public struct CACertificates {
    /// The certificate whose SHA-256 equals the pin: our trust anchor.
    public let anchor: Certificate
    /// Every other certificate the server sent that chains to the anchor (RA, intermediates).
    public let others: [Certificate]
    /// Certificates the server sent that do not chain to the anchor; never used.
    public let ignored: Int

    public var all: [Certificate] { [anchor] + others }

    /// Parses a GetCACert body and pins it.
    public init(response: SCEPResponse, pin: [UInt8], now: Int64?) throws(SCEPError) {
        try self.init(certificates: try CACertificates.parse(response), pin: pin, now: now)
    }

    /// Pins certificates already fetched.
    public init(certificates: [Certificate], pin: [UInt8], now: Int64?) throws(SCEPError) {
        guard let anchor = certificates.first(where: { $0.sha256Fingerprint == pin }) else {
            throw .caFingerprintMismatch(expected: Hex.encode(pin),
                                         found: certificates.map { Hex.encode($0.sha256Fingerprint) })
        }
        self.anchor = anchor
        var trusted: [Certificate] = []
        var ignored = 0
        for certificate in certificates where certificate != anchor {
            if (try? ChainVerification.verify(certificate, anchor: anchor, intermediates: certificates, now: now)) != nil {
                trusted.append(certificate)
            } else {
                ignored += 1
            }
        }
        others = trusted
        self.ignored = ignored
    }

    /// The certificates in a GetCACert body: one DER certificate (`application/x-x509-ca-cert`)
    /// or a certs-only SignedData (`application/x-x509-ca-ra-cert`). Servers mislabel both, and
    /// some send PEM, so the body's shape decides when the label does not fit.
    public static func parse(_ response: SCEPResponse) throws(SCEPError) -> [Certificate] {
        guard response.status == 200 else { throw .httpStatus(response.status, operation: "GetCACert") }
        var body = response.body
        if PEM.looksLikePEM(body), let blocks = PEM.decodeAll(body, label: "CERTIFICATE"), !blocks.isEmpty {
            var certificates: [Certificate] = []
            for block in blocks {
                do { certificates.append(try Certificate(der: block)) } catch { throw .malformedReply("GetCACert: \(error)") }
            }
            return certificates
        }
        if let single = try? Certificate(der: body) { return [single] }
        if PEM.looksLikePEM(body), let blocks = PEM.decodeAll(body, label: "PKCS7"), let first = blocks.first { body = first }
        let bag: SignedData
        do { bag = try SignedData(der: body, context: "GetCACert") } catch {
            throw .malformedReply("GetCACert (\(response.mediaType)): \(error)")
        }
        guard !bag.certificates.isEmpty else { throw .noCACertificates }
        return bag.certificates
    }

    /// The certificate to encrypt requests to (RFC 8894 section 3.1): an RA certificate marked for
    /// keyEncipherment first; then any so marked; then one with no keyUsage at all; then the anchor,
    /// as servers that use one certificate for everything expect.
    public var encryptionRecipient: Certificate {
        func rank(_ certificate: Certificate) -> Int {
            var score = 0
            if let usage = certificate.keyUsage {
                if usage.contains(.keyEncipherment) { score += 4 } else { return -1 }
            } else {
                score += 2
            }
            if !certificate.isCA { score += 1 }
            return score
        }
        var best = anchor
        var bestRank = rank(anchor) < 0 ? -1 : 0
        for certificate in others {
            let score = rank(certificate)
            if score > bestRank {
                best = certificate
                bestRank = score
            }
        }
        return best
    }

    /// The certificate a reply's SignerInfo names, among these and the reply's own certificates,
    /// provided it chains to the anchor.
    func replySigner(for signer: SignerInfo, extra: [Certificate], now: Int64?) throws(SCEPError) -> Certificate {
        let pool = all + extra
        guard let certificate = pool.first(where: { signer.identifies($0) }) ?? CACertificates.bySignatureRole(pool) else {
            throw .replyNotVerified("the reply's signer certificate is unknown")
        }
        do {
            _ = try ChainVerification.verify(certificate, anchor: anchor, intermediates: pool, now: now)
        } catch {
            throw .untrustedCertificate(error)
        }
        return certificate
    }

    /// When a signer is named by key identifier only, the certificate marked for digitalSignature.
    private static func bySignatureRole(_ pool: [Certificate]) -> Certificate? {
        pool.first { $0.keyUsage?.contains(.digitalSignature) == true && !$0.isCA } ?? pool.first { $0.keyUsage?.contains(.digitalSignature) == true }
    }
}
