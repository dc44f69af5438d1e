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
    private var pendingSignals: [Int32] = []

    public init() throws(SystemError) {
        signals = scep_signals_install()
        guard signals >= 0 else { throw SystemError.last("pipe") }
        timer = timerfd_create(CLOCK_REALTIME, Int32(TFD_CLOEXEC))
        guard timer >= 0 else { throw SystemError.last("timerfd_create") }
    }

    deinit { close(timer) }

    /// A signal that arrived while busy, without waiting; nil when none.
    public func pendingSignal() -> WakeReason? {
        let number = scep_signal_take(signals)
        return Waiter.reason(for: number)
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

/// Runs `command` with /bin/sh, with `environment` added to ours, and waits up to
/// `timeoutMilliseconds` (then kills it). Returns the exit status, or nil if it could not start,
/// was killed or timed out.
public func runShellCommand(_ command: String, environment: [(String, String)], timeoutMilliseconds: Int64) -> Int32? {
    var strings: [String] = []
    var index = 0
    if let base = scep_environ() {
        while let entry = base[index] {
            strings.append(String(cString: entry))
            index += 1
        }
    }
    for (key, value) in environment {
        strings.removeAll { $0.hasPrefix(key + "=") }
        strings.append(key + "=" + value)
    }
    let arguments = ["/bin/sh", "-c", command]
    var pid: pid_t = 0
    let status = withCStrings(arguments) { argv in
        withCStrings(strings) { envp in
            posix_spawn(&pid, "/bin/sh", nil, nil, argv, envp)
        }
    }
    guard status == 0 else { return nil }
    let deadline = monotonicMilliseconds() + timeoutMilliseconds
    var result: Int32 = 0
    while true {
        let waited = waitpid(pid, &result, WNOHANG)
        if waited == pid { break }
        if waited < 0 && scep_errno() != EINTR { return nil }
        if monotonicMilliseconds() >= deadline {
            kill(pid, SIGKILL)
            _ = waitpid(pid, &result, 0)
            return nil
        }
        sleepMilliseconds(20)
    }
    return scep_wifexited(result) != 0 ? scep_wexitstatus(result) : nil
}

/// A NULL-terminated array of C strings for the duration of `body`.
func withCStrings<Result>(_ strings: [String], _ body: (UnsafePointer<UnsafeMutablePointer<CChar>?>) -> Result) -> Result {
    var pointers: [UnsafeMutablePointer<CChar>?] = strings.map { string in
        let bytes = Array(string.utf8)
        let buffer = UnsafeMutablePointer<CChar>.allocate(capacity: bytes.count + 1)
        for (offset, byte) in bytes.enumerated() { buffer[offset] = CChar(bitPattern: byte) }
        buffer[bytes.count] = 0
        return buffer
    }
    pointers.append(nil)
    defer { for pointer in pointers { pointer?.deallocate() } }
    return pointers.withUnsafeBufferPointer { body($0.baseAddress!) }
}
