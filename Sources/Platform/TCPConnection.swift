import CLibc

/// A TCP connection with deadlines on every operation: connect, send and receive each give up
/// with ETIMEDOUT rather than hang a daemon on a silent server.
public final class TCPConnection {
    private var descriptor: Int32
    public let peer: String

    private init(descriptor: Int32, peer: String) {
        self.descriptor = descriptor
        self.peer = peer
    }

    deinit { close() }

    public func close() {
        if descriptor >= 0 {
            CLibc.close(descriptor)
            descriptor = -1
        }
    }

    /// Connects to the first of `addresses` that answers within the timeout. `host` names the
    /// server in errors.
    public static func connect(to addresses: [IPAddress], host: String, port: UInt16,
                               timeoutMilliseconds: Int64) throws(SystemError) -> TCPConnection {
        let deadline = monotonicMilliseconds() + timeoutMilliseconds
        let peer = "\(host):\(port)"
        var lastError = SystemError("connect", path: peer, code: EHOSTUNREACH)
        for address in addresses {
            let socketDescriptor = socket(address.isIPv6 ? AF_INET6 : AF_INET, scep_sock_stream() | scep_sock_cloexec(), 0)
            guard socketDescriptor >= 0 else {
                lastError = SystemError.last("socket")
                continue
            }
            let flags = scep_fcntl_getfl(socketDescriptor)
            _ = scep_fcntl_setfl(socketDescriptor, flags | O_NONBLOCK)
            if address.withSocketAddress(port: port, { CLibc.connect(socketDescriptor, $0, $1) }) != 0 {
                guard scep_errno() == EINPROGRESS else {
                    lastError = SystemError.last("connect", path: peer)
                    CLibc.close(socketDescriptor)
                    continue
                }
                if let failure = wait(socketDescriptor, events: Int16(POLLOUT), deadline: deadline, operation: "connect", peer: peer) {
                    lastError = failure
                    CLibc.close(socketDescriptor)
                    continue
                }
                var socketError: Int32 = 0
                var length = socklen_t(MemoryLayout<Int32>.size)
                getsockopt(socketDescriptor, SOL_SOCKET, SO_ERROR, &socketError, &length)
                guard socketError == 0 else {
                    lastError = SystemError("connect", path: peer, code: socketError)
                    CLibc.close(socketDescriptor)
                    continue
                }
            }
            var one: Int32 = 1
            setsockopt(socketDescriptor, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
            return TCPConnection(descriptor: socketDescriptor, peer: peer)
        }
        throw lastError
    }

    /// Sends every byte before the deadline.
    public func send(_ bytes: UnsafeRawBufferPointer, deadline: Int64) throws(SystemError) {
        var offset = 0
        while offset < bytes.count {
            let written = CLibc.send(descriptor, bytes.baseAddress! + offset, bytes.count - offset, Int32(MSG_NOSIGNAL))
            if written > 0 {
                offset += written
                continue
            }
            let code = scep_errno()
            if code == EINTR { continue }
            guard code == EAGAIN || code == EWOULDBLOCK else { throw SystemError("send", path: peer, code: code) }
            if let failure = TCPConnection.wait(descriptor, events: Int16(POLLOUT), deadline: deadline, operation: "send", peer: peer) {
                throw failure
            }
        }
    }

    public func send(_ bytes: [UInt8], deadline: Int64) throws(SystemError) {
        // Through the typed buffer: withUnsafeBytes is not typed-throws, withUnsafeBufferPointer is.
        try bytes.withUnsafeBufferPointer { (buffer) throws(SystemError) in
            try send(UnsafeRawBufferPointer(buffer), deadline: deadline)
        }
    }

    /// Receives up to `buffer.count` bytes; 0 means the peer closed the connection.
    public func receive(into buffer: UnsafeMutableRawBufferPointer, deadline: Int64) throws(SystemError) -> Int {
        while true {
            let count = recv(descriptor, buffer.baseAddress, buffer.count, 0)
            if count >= 0 { return count }
            let code = scep_errno()
            if code == EINTR { continue }
            guard code == EAGAIN || code == EWOULDBLOCK else { throw SystemError("receive", path: peer, code: code) }
            if let failure = TCPConnection.wait(descriptor, events: Int16(POLLIN), deadline: deadline, operation: "receive", peer: peer) {
                throw failure
            }
        }
    }

    /// Waits for `events` until the deadline; nil when ready.
    private static func wait(_ descriptor: Int32, events: Int16, deadline: Int64, operation: String, peer: String) -> SystemError? {
        while true {
            let remaining = deadline - monotonicMilliseconds()
            if remaining <= 0 { return SystemError(operation, path: peer, code: ETIMEDOUT) }
            var entry = pollfd(fd: descriptor, events: events, revents: 0)
            let result = poll(&entry, 1, Int32(min(remaining, 60_000)))
            if result > 0 { return nil }
            if result < 0 && scep_errno() != EINTR { return SystemError.last(operation, path: peer) }
        }
    }
}
