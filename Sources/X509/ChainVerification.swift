import ASN1

/// Why a certificate could not be tied to the pinned CA.
public enum ChainError: Error, Equatable, CustomStringConvertible {
    case noPath(subject: String)
    case expired(subject: String)

    public var description: String {
        switch self {
        case .noPath(let subject): "certificate '\(subject)' does not chain to the pinned CA"
        case .expired(let subject): "certificate '\(subject)' is outside its validity period"
        }
    }
}

/// Path building from a certificate up to the pinned CA (the trust anchor), through the
/// intermediates a server sent. Every link's signature is checked; names alone prove nothing.
public enum ChainVerification {
    /// Deep enough for root, two intermediates and an RA; bounded so a hostile bag of
    /// certificates cannot make the search run long.
    public static let maximumDepth = 6

    /// Returns the path, leaf first and anchor last. `now` nil skips validity periods (a device
    /// whose clock is not set yet).
    public static func verify(_ leaf: Certificate, anchor: Certificate, intermediates: [Certificate],
                              now: Int64?) throws(ChainError) -> [Certificate] {
        var path = [leaf]
        var current = leaf
        for _ in 0..<maximumDepth {
            if let now, !current.isValid(at: now) { throw .expired(subject: current.subject.rfc4514String) }
            if current == anchor { return path }
            if current.isSigned(by: anchor) {
                if let now, !anchor.isValid(at: now) { throw .expired(subject: anchor.subject.rfc4514String) }
                return path + [anchor]
            }
            guard let next = intermediates.first(where: { candidate in
                candidate != current && !path.contains(candidate) && current.isSigned(by: candidate)
            }) else { break }
            path.append(next)
            current = next
        }
        throw .noPath(subject: leaf.subject.rfc4514String)
    }
}
