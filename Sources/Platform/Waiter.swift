import CLibc

/// Why the daemon woke up.
public enum WakeReason: Equatable {
    /// The deadline passed.
    case deadline
    /// SIGTERM or SIGINT: finish or abandon the current step and exit.
    case terminate
    /// SIGHUP: reload the configuration.
    case reload
    /// The wall clock was set (NTP step, manual change) or the machine resumed: recompute.
    case clockChanged
}

/// Sleeps until a wall-clock deadline, a signal, or a clock change, without using CPU: one poll()
/// on a signal pipe and a CLOCK_REALTIME timerfd armed for the absolute deadline with
/// TFD_TIMER_CANCEL_ON_SET. A deadline falls due on the wall clock, so time spent suspended
/// counts, and a clock step wakes it to recompute.
public final class Waiter {
    private let signals: Int32
    private let timer: Int32
    /// Signals taken while looking for SIGTERM (`terminationRequested`), kept for the loop.
    private var deferred: [WakeReason] = []

    public init() throws(SystemError) {
        signals = scep_signals_install()
        guard signals >= 0 else { throw SystemError.last("pipe") }
        timer = timerfd_create(CLOCK_REALTIME, Int32(TFD_CLOEXEC))
        guard timer >= 0 else { throw SystemError.last("timerfd_create") }
    }

    deinit { close(timer) }

    /// A signal that arrived while busy, without waiting; nil when none.
    public func pendingSignal() -> WakeReason? {
        if !deferred.isEmpty { return deferred.removeFirst() }
        return Waiter.reason(for: scep_signal_take(signals))
    }

    /// Whether SIGTERM or SIGINT arrived, for a step that can be abandoned midway (a transaction
    /// waiting on the network); any other signal stays pending for the loop.
    public func terminationRequested() -> Bool {
        if deferred.contains(.terminate) { return true }
        while let reason = Waiter.reason(for: scep_signal_take(signals)) {
            if !deferred.contains(reason) { deferred.append(reason) }
            if reason == .terminate { return true }
        }
        return false
    }

    public func wait(untilWallClock deadline: Int64) -> WakeReason {
        if let signal = pendingSignal() { return signal }
        if deadline <= wallClockSeconds() { return .deadline }
        guard scep_timerfd_arm(timer, deadline) == 0 else {
            // Without a timer, fall back to a bounded sleep and let the caller recompute.
            sleepMilliseconds(min(60_000, (deadline - wallClockSeconds()) * 1000))
            return .clockChanged
        }
        while true {
            var entries = [pollfd(fd: signals, events: Int16(POLLIN), revents: 0), pollfd(fd: timer, events: Int16(POLLIN), revents: 0)]
            let ready = poll(&entries, 2, -1)
            if ready < 0 {
                if scep_errno() == EINTR { continue }
                return .clockChanged
            }
            if entries[0].revents != 0, let signal = pendingSignal() { return signal }
            if entries[1].revents != 0 {
                var expirations: UInt64 = 0
                let count = read(timer, &expirations, 8)
                if count < 0 && scep_errno() == ECANCELED { return .clockChanged }
                return .deadline
            }
        }
    }

    static func reason(for number: Int32) -> WakeReason? {
        switch number {
        case SIGTERM, SIGINT: .terminate
        case SIGHUP: .reload
        default: nil
        }
    }
}
