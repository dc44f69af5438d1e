import X509

/// When to renew a certificate: pure arithmetic on its validity, so the daemon, `status` and the
/// fleet simulation all agree, and tests can drive it with any clock.
public struct RenewalSchedule: Equatable, Sendable {
    public enum Threshold: Equatable, Sendable {
        /// Renew this many seconds before not-after.
        case before(seconds: Int64)
        /// Renew when this share (percent) of the lifetime remains.
        case percentOfLifetime(Int)
    }

    public let threshold: Threshold

    public init(threshold: Threshold) { self.threshold = threshold }

    /// The moment renewal becomes due, before jitter: never before not-before.
    public func dueTime(notBefore: Int64, notAfter: Int64) -> Int64 {
        let lifetime = max(0, notAfter - notBefore)
        let lead: Int64
        switch threshold {
        case .before(let seconds): lead = seconds
        case .percentOfLifetime(let percent): lead = lifetime * Int64(percent) / 100
        }
        return max(notBefore, notAfter - min(lead, lifetime))
    }

    /// The renewal window's length: from when renewal is due to not-after.
    public func window(notBefore: Int64, notAfter: Int64) -> Int64 {
        notAfter - dueTime(notBefore: notBefore, notAfter: notAfter)
    }

    /// The due time pushed later by up to a tenth of the window, by `seed` (a per-device value),
    /// so a fleet enrolled on the same day does not renew in the same minute. The same device
    /// and certificate always get the same time.
    public func jitteredTime(notBefore: Int64, notAfter: Int64, seed: UInt64) -> Int64 {
        let due = dueTime(notBefore: notBefore, notAfter: notAfter)
        let spread = window(notBefore: notBefore, notAfter: notAfter) / 10
        guard spread > 0 else { return due }
        var mixed = seed ^ UInt64(bitPattern: notAfter)
        mixed = (mixed ^ (mixed >> 33)) &* 0xff51afd7ed558ccd
        mixed = (mixed ^ (mixed >> 33)) &* 0xc4ceb9fe1a85ec53
        mixed ^= mixed >> 33
        return due + Int64(mixed % UInt64(spread))
    }

    /// The least time between two successful renewals: --retry-min, but never more than a tenth
    /// of the certificate's lifetime (at least a second). A certificate that lives two minutes
    /// is then renewed well before not-after with the default --retry-min of a minute, while a
    /// --renew-before longer than the lifetime still cannot make the agent renew in a loop.
    public static func minimumSpacing(retryMinimum: Int64, notBefore: Int64, notAfter: Int64) -> Int64 {
        max(1, min(retryMinimum, (notAfter - notBefore) / 10))
    }

    /// The per-device jitter seed: from the certificate's public key, unique per device and per
    /// certificate (FNV-1a).
    public static func seed(_ publicKeyInfo: [UInt8]) -> UInt64 {
        var seed: UInt64 = 0xcbf29ce484222325
        for byte in publicKeyInfo {
            seed ^= UInt64(byte)
            seed = seed &* 0x100000001b3
        }
        return seed
    }
}

extension RenewalSchedule {
    /// When `certificate` is due for renewal on this device: its jittered time, seeded by its key.
    public func renewalTime(of certificate: Certificate) -> Int64 {
        jitteredTime(notBefore: certificate.notBefore, notAfter: certificate.notAfter,
                     seed: RenewalSchedule.seed(certificate.publicKeyInfo))
    }
}
