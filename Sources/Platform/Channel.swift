import CLibc

/// One end of a socketpair between two of the agent's processes, carrying whole messages: a
/// 4-byte big-endian length, then that many bytes. Lengths are checked against the receiver's
/// limit before anything is allocated, so a compromised peer cannot make the other side grow.
public final class Channel {
    public private(set) var descriptor: Int32

    public init(descriptor: Int32) { self.descriptor = descriptor }

    deinit { closeNow() }

    /// Closes this end now (a forked child closing its copy of the other process's end).
    public func closeNow() {
        if descriptor >= 0 { close(descriptor) }
        descriptor = -1
    }

    /// Both ends of a new, close-on-exec stream socketpair.
    public static func pair() throws(SystemError) -> (Channel, Channel) {
        var ends: [Int32] = [-1, -1]
        guard socketpair(AF_UNIX, scep_sock_stream() | scep_sock_cloexec(), 0, &ends) == 0 else {
            throw SystemError.last("socketpair")
        }
        return (Channel(descriptor: ends[0]), Channel(descriptor: ends[1]))
    }

    /// Sends one message. With a `deadline` (monotonic milliseconds), a peer that stops reading
    /// cannot block the sender past it (ETIMEDOUT), nor past `keepWaiting` saying no.
    public func send(_ message: [UInt8], deadline: Int64? = nil, keepWaiting: () -> Bool = { true }) throws(SystemError) {
        let length = UInt32(message.count)
        let header: [UInt8] = [UInt8(length >> 24), UInt8((length >> 16) & 0xff), UInt8((length >> 8) & 0xff), UInt8(length & 0xff)]
        try (header + message).withUnsafeBufferPointer { (buffer) throws(SystemError) in
            if let failure = writeAllReporting(descriptor, buffer, deadline: deadline, keepWaiting: keepWaiting) { throw failure }
        }
    }

    /// The next message, or nil when the peer closed the channel. A message longer than `limit`
    /// is an error. With a `deadline` (monotonic milliseconds), waiting past it is ETIMEDOUT, and
    /// so is `keepWaiting` saying no (it is asked a few times a second while bytes are awaited).
    public func receive(limit: Int, deadline: Int64? = nil, keepWaiting: () -> Bool = { true }) throws(SystemError) -> [UInt8]? {
        var header = [UInt8](repeating: 0, count: 4)
        guard try readExactly(&header, deadline: deadline, keepWaiting: keepWaiting, allowEnd: true) else { return nil }
        let length = UInt64(header[0]) << 24 | UInt64(header[1]) << 16 | UInt64(header[2]) << 8 | UInt64(header[3])
        guard length <= UInt64(limit) else { throw SystemError("receive", path: "channel", code: EMSGSIZE, detail: .largerThan(limit: limit)) }
        var message = [UInt8](repeating: 0, count: Int(length))
        guard try readExactly(&message, deadline: deadline, keepWaiting: keepWaiting, allowEnd: false) else { return nil }
        return message
    }

    /// Whether a message (or the peer's end) is waiting, within `milliseconds`.
    public func isReadable(within milliseconds: Int32) -> Bool {
        var entry = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
        return poll(&entry, 1, milliseconds) > 0
    }

    private func readExactly(_ buffer: inout [UInt8], deadline: Int64?, keepWaiting: () -> Bool,
                             allowEnd: Bool) throws(SystemError) -> Bool {
        var filled = 0
        while filled < buffer.count {
            if let deadline {
                let remaining = deadline - monotonicMilliseconds()
                guard remaining > 0, keepWaiting() else { throw SystemError("receive", path: "channel", code: ETIMEDOUT) }
                guard isReadable(within: Int32(min(remaining, 200))) else { continue }
            }
            let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress! + filled, $0.count - filled) }
            if count < 0 {
                if scep_errno() == EINTR { continue }
                throw SystemError.last("receive", path: "channel")
            }
            if count == 0 {
                if filled == 0 && allowEnd { return false }
                throw SystemError("receive", path: "channel", code: EPIPE)
            }
            filled += count
        }
        return true
    }
}

func writeAllReporting(_ descriptor: Int32, _ buffer: UnsafeBufferPointer<UInt8>, deadline: Int64?,
                       keepWaiting: () -> Bool) -> SystemError? {
    guard var cursor = buffer.baseAddress else { return nil }
    var remaining = buffer.count
    while remaining > 0 {
        if let deadline {
            let left = deadline - monotonicMilliseconds()
            guard left > 0, keepWaiting() else { return SystemError("send", path: "channel", code: ETIMEDOUT) }
            var entry = pollfd(fd: descriptor, events: Int16(POLLOUT), revents: 0)
            guard poll(&entry, 1, Int32(min(left, 200))) > 0 else { continue }
        }
        let flags = Int32(MSG_NOSIGNAL) | (deadline == nil ? 0 : Int32(MSG_DONTWAIT))
        let written = send(descriptor, cursor, remaining, flags)
        if written < 0 {
            let code = scep_errno()
            if code == EINTR || code == EAGAIN || code == EWOULDBLOCK { continue }
            return SystemError.last("send", path: "channel")
        }
        cursor += written
        remaining -= written
    }
    return nil
}
