/// Exponential backoff with jitter between failed attempts: `minimum` doubling to `maximum`, each
/// delay drawn from its upper half ("equal jitter"), so a fleet that failed together does not
/// retry together, and no device ever retries in a tight loop.
///
/// A renewal that still has days of validity left need not retry within a minute: the ceiling is
/// at least a fiftieth of the remaining validity (up to `maximum`). After a server outage this
/// keeps the devices that had only just started failing from all returning in the first minutes;
/// the fleet simulation (Tests/FleetSim) measures the effect.
public struct Backoff: Equatable, Sendable {
    public let minimum: Int64
    public let maximum: Int64
    public private(set) var failures = 0

    public init(minimum: Int64, maximum: Int64) {
        self.minimum = max(1, minimum)
        self.maximum = max(self.minimum, maximum)
    }

    /// The ceiling for the next delay after `failures` consecutive failures.
    public var ceiling: Int64 {
        guard failures > 0 else { return 0 }
        var delay = minimum
        for _ in 1..<failures {
            delay *= 2
            if delay >= maximum { return maximum }
        }
        return min(delay, maximum)
    }

    /// Records a failure and returns the delay before the next attempt; `randomUnit` is a value
    /// in [0, 1) from the caller's randomness, `remainingValidity` the seconds the certificate in
    /// service has left (0 when there is none).
    public mutating func failed(randomUnit: Double, remainingValidity: Int64 = 0) -> Int64 {
        failures += 1
        let top = max(ceiling, min(maximum, remainingValidity / 50))
        let half = top / 2
        return half + Int64(Double(top - half) * min(max(randomUnit, 0), 0.999_999))
    }

    public mutating func succeeded() { failures = 0 }
}
