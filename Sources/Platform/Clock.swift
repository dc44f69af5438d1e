import CLibc

/// Seconds since the Unix epoch, from the wall clock (CLOCK_REALTIME): certificate validity is
/// judged against it.
public func wallClockSeconds() -> Int64 {
    var now = timespec()
    clock_gettime(CLOCK_REALTIME, &now)
    return Int64(now.tv_sec)
}

/// Nanoseconds from an arbitrary origin that never jumps (CLOCK_MONOTONIC): timeouts use it.
public func monotonicNanoseconds() -> UInt64 {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return UInt64(now.tv_sec) &* 1_000_000_000 &+ UInt64(now.tv_nsec)
}

/// Milliseconds from an arbitrary origin that never jumps.
public func monotonicMilliseconds() -> Int64 {
    Int64(monotonicNanoseconds() / 1_000_000)
}

/// Elapsed monotonic time, for the timings in the debug log.
public struct Stopwatch {
    private let start = monotonicNanoseconds()

    public init() {}

    public var elapsedNanoseconds: UInt64 { monotonicNanoseconds() &- start }

    /// Milliseconds with one decimal ("27.6"): log values, and no floating-point printing needed.
    public var milliseconds: String { Stopwatch.milliseconds(elapsedNanoseconds) }

    public static func milliseconds(_ nanoseconds: UInt64) -> String {
        let tenths = (nanoseconds + 50_000) / 100_000
        return "\(tenths / 10).\(tenths % 10)"
    }
}

/// Sleeps for `milliseconds`, resuming after signals until the time has passed.
public func sleepMilliseconds(_ milliseconds: Int64) {
    guard milliseconds > 0 else { return }
    let (microseconds, overflow) = milliseconds.multipliedReportingOverflow(by: 1000)
    sleepMicroseconds(overflow ? Int64.max : microseconds)
}

/// Sleeps for `microseconds`, resuming after signals until the time has passed.
public func sleepMicroseconds(_ microseconds: Int64) {
    guard microseconds > 0 else { return }
    // numericCast: time_t and the nanoseconds field differ in width between targets (64-bit
    // time_t on 32-bit ARM).
    var request = timespec()
    request.tv_sec = numericCast(microseconds / 1_000_000)
    request.tv_nsec = numericCast((microseconds % 1_000_000) * 1000)
    var remaining = timespec()
    while nanosleep(&request, &remaining) != 0 && scep_errno() == EINTR {
        request = remaining
    }
}
