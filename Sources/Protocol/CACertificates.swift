import ASN1
import CMS
import Crypto
import Encoding
import X509

/// The CA's certificates as GetCACert returned them, tied to the pinned fingerprint, and the roles
/// they may play.
///
/// Construction is the pinning step: if no certificate hashes to the pin, there is no
/// `CACertificates` and so no way to send a request. Every other certificate is kept only if its
/// path to the anchor is valid (`PathValidation`); the rest are reported and never used.
///
/// Roles (RFC 8894 section 3.1), chosen deterministically:
/// - the **encryption recipient** is, in order of preference:
///   1. an end-entity certificate marked as an RA (id-kp-cmcRA, or NDES's Certificate Request
///      Agent) whose keyUsage allows key encipherment (key agreement for an EC key) or that has
///      no keyUsage;
///   2. a CA certificate on the path (an issuing intermediate, then the pinned CA) whose keyUsage
///      says it decrypts: it names itself the recipient, so an unmarked end-entity certificate
///      that came with it (which over plain HTTP may be another device's) is not preferred;
///   3. any other end-entity certificate that allows key encipherment, or has no keyUsage (the
///      RA of OpenXPKI or EJBCA, whose CA cannot decrypt), but only when pinned with
///      --ra-fingerprint: unpinned, it could be another device's certificate from the same CA
///      (over plain HTTP from anyone on the path, over https from a compromised network
///      process), and the challenge would go to that device;
///   4. a CA certificate whatever its keyUsage: servers that use one certificate for everything
///      (micromdm's CA lists only keyCertSign and cRLSign) expect that.
///   Ties go to intermediates before the pinned CA, then to the certificate listed first.
/// - the **reply signer** is the pinned CA or another CA certificate on a valid path, or an
///   end-entity certificate on a valid path whose keyUsage allows digitalSignature (or has none).
/// - with `--ra-fingerprint`, only the pinned RA certificates may play either role.
public struct CACertificates {
    /// The certificate whose SHA-256 equals the pin: our trust anchor.
    public let anchor: Certificate
    /// Every other certificate the server sent whose path to the anchor is valid (RA, intermediates).
    public let others: [Certificate]
    /// Certificates the server sent whose path is not valid, with why; never used.
    public let refused: [(certificate: Certificate, error: PathError)]
    /// SHA-256 fingerprints from `--ra-fingerprint`; empty when none are configured.
    public let raPins: [[UInt8]]
    let now: Int64?

    public var all: [Certificate] { [anchor] + others }
    public var ignored: Int { refused.count }

    /// Parses a GetCACert body and pins it.
    public init(response: SCEPResponse, pin: [UInt8], raPins: [[UInt8]] = [], now: Int64?) throws(SCEPError) {
        try self.init(certificates: try CACertificates.parse(response), pin: pin, raPins: raPins, now: now)
    }

    /// Pins certificates already fetched.
    public init(certificates: [Certificate], pin: [UInt8], raPins: [[UInt8]] = [], now: Int64?) throws(SCEPError) {
        guard let anchor = certificates.first(where: { $0.sha256Fingerprint == pin }) else {
            throw .caFingerprintMismatch(expected: pin, found: certificates.map { $0.sha256Fingerprint })
        }
        do throws(PathError) { _ = try PathValidation.validate(anchor, anchor: anchor, intermediates: [], now: now) } catch {
            throw .untrustedCertificate(error)
        }
        self.anchor = anchor
        var trusted: [Certificate] = []
        var refused: [(certificate: Certificate, error: PathError)] = []
        for certificate in certificates where certificate != anchor && !trusted.contains(certificate) {
            do throws(PathError) {
                _ = try PathValidation.validate(certificate, anchor: anchor, intermediates: certificates, now: now)
                trusted.append(certificate)
            } catch {
                refused.append((certificate, error))
            }
        }
        others = trusted
        self.refused = refused
        self.raPins = raPins
        self.now = now
    }

    /// The certificates in a GetCACert body: one DER certificate (`application/x-x509-ca-cert`)
    /// or a certs-only SignedData (`application/x-x509-ca-ra-cert`). Servers mislabel both, and
    /// some send PEM, so the body's shape decides when the label does not fit.
    public static func parse(_ response: SCEPResponse) throws(SCEPError) -> [Certificate] {
        guard response.status == 200 else { throw .httpStatus(response.status, .getCACert) }
        var body = response.body
        if PEM.looksLikePEM(body), let blocks = PEM.decodeAll(body, label: "CERTIFICATE"), !blocks.isEmpty {
            guard blocks.count <= SignedData.maximumCertificates else {
                throw .malformed(.getCACert, .malformed(DERError(.invalid(.tooMany), at: 0)))
            }
            var certificates: [Certificate] = []
            for block in blocks {
                do { certificates.append(try Certificate(der: block)) } catch { throw .malformed(.getCACert, .malformed(error)) }
            }
            return certificates
        }
        if let single = try? Certificate(der: body) { return [single] }
        if PEM.looksLikePEM(body), let blocks = PEM.decodeAll(body, label: "PKCS7"), let first = blocks.first { body = first }
        let bag: SignedData
        do { bag = try SignedData(message: body) } catch { throw .malformed(.getCACert, error) }
        guard !bag.certificates.isEmpty else { throw .noCACertificates }
        return bag.certificates
    }

    // MARK: Roles

    func isPinnedRA(_ certificate: Certificate) -> Bool {
        raPins.contains(certificate.sha256Fingerprint)
    }

    /// Whether `certificate` (one of `all`) may receive requests, and if not, why.
    func recipientRefusal(_ certificate: Certificate) -> RoleRefusal? {
        if !raPins.isEmpty && !isPinnedRA(certificate) { return .notPinned }
        guard let type = certificate.keyType else { return .keyType }
        // The CA itself (or an issuing CA) is the recipient of last resort whatever its keyUsage:
        // micromdm's CA, which decrypts every request, lists only keyCertSign and cRLSign.
        if certificate.isCA || certificate == anchor { return nil }
        guard let usage = certificate.keyUsage else { return nil }
        return usage.contains(type.isRSA ? .keyEncipherment : .keyAgreement) ? nil : .keyUsage
    }

    /// The certificate to encrypt requests to, by the preference order above. An unmarked
    /// end-entity recipient is refused unless pinned.
    public func encryptionRecipient() throws(SCEPError) -> Certificate {
        let eligible = (others + [anchor]).filter { recipientRefusal($0) == nil }
        func rank(_ certificate: Certificate) -> Int {
            let isCA = certificate.isCA || certificate == anchor
            if !isCA { return certificate.isRegistrationAuthority ? 40 : 20 }
            let decrypts = certificate.keyUsage.map { usage in
                certificate.keyType?.isRSA == false ? usage.contains(.keyAgreement) : usage.contains(.keyEncipherment)
            } ?? false
            return (decrypts ? 30 : 10) + (certificate == anchor ? 0 : 1)
        }
        var best: Certificate? = nil
        for certificate in eligible where best.map({ rank(certificate) > rank($0) }) ?? true { best = certificate }
        guard let best else { throw .noEncryptionRecipient(pinned: !raPins.isEmpty) }
        if isUnmarkedEndEntity(best) { throw .unmarkedRecipient(subject: best.subject.rfc4514String) }
        if let now, !best.isValid(at: now) { throw .noEncryptionRecipient(pinned: !raPins.isEmpty) }
        return best
    }

    /// Whether the recipient is one plain HTTP cannot vouch for: an end-entity certificate that
    /// no RA marking or RA pin singles out. Another device's certificate issued by the same CA
    /// would look exactly like it (see docs/trust.md).
    public func isUnmarkedEndEntity(_ certificate: Certificate) -> Bool {
        raPins.isEmpty && !certificate.isCA && certificate != anchor && !certificate.isRegistrationAuthority
    }

    /// The certificate a reply's SignerInfo names, among these and the reply's own certificates,
    /// checked for its path and its right to sign replies.
    func replySigner(for signer: SignerInfo, extra: [Certificate], operation: SCEPOperation) throws(SCEPError) -> Certificate {
        let pool = all + extra
        guard let certificate = pool.first(where: { signer.identifies($0) }) else {
            throw .rejected(operation, .signerUnknown)
        }
        do throws(PathError) {
            _ = try PathValidation.validate(certificate, anchor: anchor, intermediates: pool, now: now)
        } catch {
            throw .untrustedCertificate(error)
        }
        let subject = certificate.subject.rfc4514String
        if !raPins.isEmpty && !isPinnedRA(certificate) {
            throw .rejected(operation, .signerNotAllowed(subject: subject, why: .notPinned))
        }
        if !certificate.isCA && certificate != anchor, let usage = certificate.keyUsage, !usage.contains(.digitalSignature) {
            throw .rejected(operation, .signerNotAllowed(subject: subject, why: .keyUsage))
        }
        return certificate
    }
}
