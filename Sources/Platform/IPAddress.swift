import CLibc

/// An IPv4 or IPv6 address, in network byte order.
public struct IPAddress: Equatable, Sendable, CustomStringConvertible {
    /// 4 bytes for IPv4, 16 for IPv6.
    public let bytes: [UInt8]

    public init?(bytes: [UInt8]) {
        guard bytes.count == 4 || bytes.count == 16 else { return nil }
        self.bytes = bytes
    }

    /// A literal such as `192.0.2.1` or `2001:db8::1`; nil for anything else (names included).
    public init?(_ text: String) {
        var v4 = [UInt8](repeating: 0, count: 4)
        if v4.withUnsafeMutableBytes({ inet_pton(AF_INET, text, $0.baseAddress) }) == 1 {
            bytes = v4
            return
        }
        var v6 = [UInt8](repeating: 0, count: 16)
        if v6.withUnsafeMutableBytes({ inet_pton(AF_INET6, text, $0.baseAddress) }) == 1 {
            bytes = v6
            return
        }
        return nil
    }

    public var isIPv6: Bool { bytes.count == 16 }

    /// 127.0.0.0/8 or ::1.
    public var isLoopback: Bool {
        isIPv6 ? bytes == [UInt8](repeating: 0, count: 15) + [1] : bytes[0] == 127
    }

    public var description: String {
        var text = [CChar](repeating: 0, count: 64)
        _ = bytes.withUnsafeBytes { source in
            inet_ntop(isIPv6 ? AF_INET6 : AF_INET, source.baseAddress, &text, socklen_t(text.count))
        }
        return String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// The socket address for `port`, for `body`.
    func withSocketAddress<Result>(port: UInt16, _ body: (UnsafePointer<sockaddr>, socklen_t) -> Result) -> Result {
        if isIPv6 {
            var address = sockaddr_in6()
            address.sin6_family = sa_family_t(AF_INET6)
            address.sin6_port = port.bigEndian
            withUnsafeMutableBytes(of: &address.sin6_addr) { target in for index in 0..<16 { target[index] = bytes[index] } }
            return withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_in6>.size)) }
            }
        }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        withUnsafeMutableBytes(of: &address.sin_addr) { target in for index in 0..<4 { target[index] = bytes[index] } }
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
    }
}

/// One UDP request and its answer: what a DNS query is. The socket is connected to `server`, so
/// the kernel drops datagrams from anyone else; an answer is returned once it arrives, or nil at
/// the deadline.
public func exchangeDatagram(_ request: [UInt8], with server: IPAddress, port: UInt16, deadline: Int64, limit: Int = 4096,
                             accept: ([UInt8]) -> Bool) throws(SystemError) -> [UInt8]? {
    let descriptor = socket(server.isIPv6 ? AF_INET6 : AF_INET, scep_sock_dgram() | scep_sock_cloexec(), 0)
    guard descriptor >= 0 else { throw SystemError.last("socket") }
    defer { close(descriptor) }
    let peer = "\(server)"
    guard server.withSocketAddress(port: port, { connect(descriptor, $0, $1) }) == 0 else { throw SystemError.last("connect", path: peer) }
    let sent = request.withUnsafeBytes { send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    guard sent == request.count else { throw SystemError.last("send", path: peer) }
    var answer = [UInt8](repeating: 0, count: limit)
    while true {
        let remaining = deadline - monotonicMilliseconds()
        guard remaining > 0 else { return nil }
        var entry = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
        let ready = poll(&entry, 1, Int32(min(remaining, 60_000)))
        if ready < 0 {
            if scep_errno() == EINTR { continue }
            throw SystemError.last("poll", path: peer)
        }
        if ready == 0 { continue }
        let count = answer.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
        if count < 0 {
            if scep_errno() == EINTR { continue }
            // ECONNREFUSED: nothing listens on the server's port.
            throw SystemError.last("receive", path: peer)
        }
        // A datagram that does not answer this query (a stray, or a spoofing attempt) is
        // dropped, and the real answer is still waited for.
        let datagram = Array(answer[0..<count])
        if accept(datagram) { return datagram }
    }
}

/// Random bytes from the kernel, for values that need only be unpredictable to outsiders (DNS
/// query IDs), not key material, which comes from the crypto layer's generator.
public func kernelRandomBytes(_ count: Int) throws(SystemError) -> [UInt8] {
    var bytes = [UInt8](repeating: 0, count: count)
    var filled = 0
    while filled < count {
        let got = bytes.withUnsafeMutableBytes { getrandom($0.baseAddress! + filled, count - filled, 0) }
        if got < 0 {
            if scep_errno() == EINTR { continue }
            throw SystemError.last("getrandom")
        }
        filled += got
    }
    return bytes
}
