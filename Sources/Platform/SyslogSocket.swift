import CLibc

/// Log lines to the local syslog daemon (rsyslog, syslog-ng, journald, BusyBox syslogd, OpenWrt's
/// logd) over its datagram socket, in the BSD format `<PRI>TAG[PID]: MESSAGE`.
///
/// The timestamp is left to the daemon, which stamps what arrives without one: formatting local
/// time here would pull libc's time-zone and printf machinery into a static binary for nothing.
/// The socket is opened on first use and reopened once when a send fails, so a syslog daemon
/// that restarts under a long-running agent does not silence it. When there is no daemon at all
/// (a minimal image, or `--syslog` given by mistake) the lines go to standard error, and the
/// socket is not tried again for `retryMilliseconds`: not a socket and a connect per line.
public final class SyslogSocket {
    /// The agent is single-threaded (a poll loop), so one shared socket needs no lock.
    nonisolated(unsafe) public static let shared = SyslogSocket(path: "/dev/log")

    private let path: String
    private let retryMilliseconds: Int64
    private var descriptor: Int32 = -1
    /// Monotonic milliseconds before which no new connection is tried; nil when none failed.
    private var quietUntil: Int64?

    public init(path: String, retryMilliseconds: Int64 = 60_000) {
        self.path = path
        self.retryMilliseconds = retryMilliseconds
    }

    deinit {
        if descriptor >= 0 { close(descriptor) }
    }

    /// The datagram for one message. Control characters never reach the daemon: a newline would
    /// split the record, and NUL would end it.
    public static func datagram(priority: Int32, tag: String, processID: Int32, _ message: String) -> [UInt8] {
        var bytes = Array("<\(priority)>\(tag)[\(processID)]: ".utf8)
        bytes.reserveCapacity(bytes.count + message.utf8.count)
        for byte in message.utf8 { bytes.append(byte < 0x20 || byte == 0x7f ? UInt8(ascii: " ") : byte) }
        return bytes
    }

    /// Sends one message; false when no syslog daemon takes it (the caller falls back to stderr).
    public func send(priority: Int32, tag: String, _ message: String) -> Bool {
        if descriptor < 0, let quietUntil, monotonicMilliseconds() < quietUntil { return false }
        let bytes = SyslogSocket.datagram(priority: priority, tag: tag, processID: getpid(), message)
        for _ in 0..<2 {
            if descriptor < 0 {
                descriptor = scep_syslog_socket(path)
                if descriptor < 0 {
                    quietUntil = monotonicMilliseconds() + retryMilliseconds
                    return false
                }
                quietUntil = nil
            }
            let sent = bytes.withUnsafeBytes { CLibc.send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if sent == bytes.count { return true }
            close(descriptor)
            descriptor = -1
        }
        return false
    }
}
