import ASN1

/// Why a certificate cannot be trusted: which certificate, and the rule it broke.
public struct PathError: Error, Equatable, Sendable, CustomStringConvertible {
    public enum Rule: Equatable, Sendable {
        /// No chain of signatures leads from it to the pinned CA.
        case noPath
        case expired(notAfter: Int64)
        case notYetValid(notBefore: Int64)
        /// Its issuer is not a CA: basicConstraints is absent or cA is not TRUE.
        case issuerNotCA(issuer: String)
        /// Its issuer's keyUsage does not include keyCertSign.
        case issuerLacksKeyCertSign(issuer: String)
        /// Its issuer's pathLenConstraint allows fewer intermediate CAs below it than the path has.
        case pathLengthExceeded(issuer: String, limit: Int)
        /// It carries a critical extension this agent does not know (RFC 5280 section 4.2).
        case unrecognizedCriticalExtension(ObjectIdentifier)
    }

    /// The certificate's subject, as people read it.
    public let subject: String
    public let rule: Rule

    public init(_ subject: String, _ rule: Rule) {
        self.subject = subject
        self.rule = rule
    }

    public var description: String {
        let certificate = "certificate '\(subject)'"
        switch rule {
        case .noPath: return "\(certificate) does not chain to the pinned CA"
        case .expired(let notAfter): return "\(certificate) expired at \(DERTime.iso8601(notAfter))"
        case .notYetValid(let notBefore): return "\(certificate) is not valid before \(DERTime.iso8601(notBefore))"
        case .issuerNotCA(let issuer):
            return "\(certificate) cannot be trusted: its issuer '\(issuer)' is not a CA (basicConstraints cA is not TRUE)"
        case .issuerLacksKeyCertSign(let issuer):
            return "\(certificate) cannot be trusted: its issuer '\(issuer)' may not sign certificates (keyUsage lacks keyCertSign)"
        case .pathLengthExceeded(let issuer, let limit):
            return "\(certificate) cannot be trusted: its issuer '\(issuer)' allows \(limit) intermediate CA(s) below it (pathLenConstraint)"
        case .unrecognizedCriticalExtension(let identifier):
            return "\(certificate) is unusable: it has a critical extension this agent does not know (\(identifier))"
        }
    }
}

/// Certificate path validation (RFC 5280 section 6), the part a device needs: from a certificate
/// up to the pinned CA, through the certificates a server sent.
///
/// Every place that trusts a certificate comes here: the GetCACert bag, the encryption recipient,
/// the reply signer, the issued certificate, GetNextCACert's new CA and the keystore's read-back.
/// The rules:
/// - each link's signature verifies, and the names chain (names alone prove nothing);
/// - every issuer is a CA: basicConstraints cA TRUE, keyCertSign when keyUsage is present, and
///   its pathLenConstraint counts the intermediate CAs below it. The pinned anchor obeys the same
///   rules, except that a version 1 anchor (no extensions at all) may issue, as RFC 5280 lets
///   trust anchors be;
/// - a critical extension this agent does not know makes a certificate unusable. The anchor's
///   own extensions are not processed beyond the issuing rules above (RFC 5280 6.1.1: the pin is
///   the trust decision);
/// - with a clock, every certificate is within its validity. `now` nil skips validity (a device
///   whose clock is not set yet).
public enum PathValidation {
    /// Deep enough for a root, two intermediates and an RA.
    public static let maximumDepth = 6
    /// Signature checks one validation may make: a hostile bag of same-named certificates cannot
    /// make the search run long.
    public static let maximumSignatureChecks = 24

    /// Returns the path, `certificate` first and the anchor last.
    public static func validate(_ certificate: Certificate, anchor: Certificate, intermediates: [Certificate],
                                now: Int64?) throws(PathError) -> [Certificate] {
        if certificate == anchor {
            try checkValidity(anchor, now: now)
            return [anchor]
        }
        try checkUsable(certificate, now: now)
        var search = Search(anchor: anchor, pool: intermediates.filter { $0 != anchor && $0 != certificate }, now: now)
        if let path = search.extend([certificate]) { return path }
        throw search.firstViolation ?? PathError(certificate.subject.rfc4514String, .noPath)
    }

    /// Whether `certificate` may become a trust anchor (GetNextCACert's new CA, before it can
    /// become the pin): a CA certificate, signed by its own key, with no critical extension this
    /// agent does not know, within its validity when there is a clock.
    public static func validateAnchor(_ certificate: Certificate, now: Int64?) throws(PathError) {
        try checkUsable(certificate, now: now)
        guard certificate.isSigned(by: certificate) else { throw PathError(certificate.subject.rfc4514String, .noPath) }
        try checkIssuer(certificate, of: certificate, below: 0, isAnchor: false)
    }

    /// The checks a certificate passes on its own: its extensions and its validity.
    static func checkUsable(_ certificate: Certificate, now: Int64?) throws(PathError) {
        if let unknown = certificate.extensions.unrecognizedCritical.first {
            throw PathError(certificate.subject.rfc4514String, .unrecognizedCriticalExtension(unknown))
        }
        try checkValidity(certificate, now: now)
    }

    static func checkValidity(_ certificate: Certificate, now: Int64?) throws(PathError) {
        guard let now else { return }
        if now < certificate.notBefore { throw PathError(certificate.subject.rfc4514String, .notYetValid(notBefore: certificate.notBefore)) }
        if now > certificate.notAfter { throw PathError(certificate.subject.rfc4514String, .expired(notAfter: certificate.notAfter)) }
    }

    /// Whether `issuer` may issue the certificate below it, with `below` non-self-issued
    /// intermediate CAs between it and the path's first certificate.
    static func checkIssuer(_ issuer: Certificate, of subject: Certificate, below: Int, isAnchor: Bool) throws(PathError) {
        let name = issuer.subject.rfc4514String
        let subjectName = subject.subject.rfc4514String
        let extensions = issuer.extensions
        let versionOneAnchor = isAnchor && issuer.tbs.version == 0 && extensions.all.isEmpty
        if !versionOneAnchor {
            guard extensions.basicConstraints?.isCA == true else { throw PathError(subjectName, .issuerNotCA(issuer: name)) }
        }
        if let usage = extensions.keyUsage, !usage.contains(.keyCertSign) {
            throw PathError(subjectName, .issuerLacksKeyCertSign(issuer: name))
        }
        if let limit = extensions.basicConstraints?.pathLength, below > limit {
            throw PathError(subjectName, .pathLengthExceeded(issuer: name, limit: limit))
        }
    }

    /// A bounded depth-first search for a path to the anchor, remembering the first rule a
    /// signing issuer broke, which says more than "no path" when the search fails.
    struct Search {
        let anchor: Certificate
        let pool: [Certificate]
        let now: Int64?
        var signatureChecks = 0
        var firstViolation: PathError? = nil

        mutating func extend(_ path: [Certificate]) -> [Certificate]? {
            let current = path[path.count - 1]
            // Intermediate CAs between a new issuer and the path's first certificate; a
            // self-issued one (a CA re-keying) does not count (RFC 5280 6.1.4 (l)).
            let below = path.dropFirst().filter { !$0.isSelfIssued }.count
            if signs(anchor, current) {
                do throws(PathError) {
                    try checkIssuer(anchor, of: current, below: below, isAnchor: true)
                    try checkValidity(anchor, now: now)
                    return path + [anchor]
                } catch {
                    remember(error)
                }
            }
            guard path.count < PathValidation.maximumDepth else { return nil }
            for candidate in pool where !path.contains(candidate) && signs(candidate, current) {
                do throws(PathError) {
                    try checkIssuer(candidate, of: current, below: below, isAnchor: false)
                    try checkUsable(candidate, now: now)
                } catch {
                    remember(error)
                    continue
                }
                if let found = extend(path + [candidate]) { return found }
            }
            return nil
        }

        /// Whether `issuer` signed `subject`, within the budget of signature checks.
        mutating func signs(_ issuer: Certificate, _ subject: Certificate) -> Bool {
            guard subject.issuerDER == issuer.subjectDER, signatureChecks < PathValidation.maximumSignatureChecks else {
                return false
            }
            signatureChecks += 1
            return subject.isSigned(by: issuer)
        }

        mutating func remember(_ error: PathError) {
            if firstViolation == nil { firstViolation = error }
        }
    }
}
