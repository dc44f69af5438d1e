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

    /// The address as text, as RFC 5952 recommends: IPv4 dotted decimal; IPv6 in lowercase hex
    /// without leading zeros, the longest run of two or more zero groups (the first of equal runs)
    /// as "::", and an IPv4-mapped address (::ffff:0:0/96) with its IPv4 part dotted. Written here
    /// rather than by inet_ntop(3), which in musl prints through snprintf and so brings printf's
    /// floating-point formatting into the static binary (Tests/PlatformTests compares the two).
    public var description: String {
        guard isIPv6 else { return Self.dotted(bytes[0...]) }
        if bytes[0..<10].allSatisfy({ $0 == 0 }) && bytes[10] == 0xff && bytes[11] == 0xff {
            return "::ffff:" + Self.dotted(bytes[12...])
        }
        let groups = (0..<8).map { UInt16(bytes[2 * $0]) << 8 | UInt16(bytes[2 * $0 + 1]) }
        var (longestStart, longestCount) = (0, 0)
        var index = 0
        while index < 8 {
            var end = index
            while end < 8 && groups[end] == 0 { end += 1 }
            if end - index > longestCount { (longestStart, longestCount) = (index, end - index) }
            index = end + 1
        }
        func hex(_ range: Range<Int>) -> String {
            var text = ""
            for group in range {
                if group > range.lowerBound { text += ":" }
                text += String(groups[group], radix: 16)
            }
            return text
        }
        guard longestCount >= 2 else { return hex(0..<8) }
        return hex(0..<longestStart) + "::" + hex((longestStart + longestCount)..<8)
    }

    private static func dotted(_ octets: ArraySlice<UInt8>) -> String {
        var text = ""
        for octet in octets {
            if !text.isEmpty { text += "." }
            text += String(octet)
        }
        return text
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
