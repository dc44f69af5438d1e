import Platform

/// A request to send.
public struct HTTPRequest {
    public var method: String
    public var body: [UInt8]
    public var contentType: String?

    public init(method: String, body: [UInt8] = [], contentType: String? = nil) {
        self.method = method
        self.body = body
        self.contentType = contentType
    }
}

/// A small HTTP/1.1 client: deadlines on connect and on the whole exchange, a cap on the
/// response, a bounded number of redirects, and TLS for `https://` (through the crypto layer,
/// verified against the configured CA bundle).
///
/// A SCEP transaction is three requests in a row (GetCACaps, GetCACert, PKIOperation), so the
/// connection is kept for the next request to the same server for a few seconds, as a browser
/// would; a kept connection the server has meanwhile closed is replaced transparently.
public struct HTTPClient {
    /// False in the tiny build, which is linked without TLS.
    public static var supportsTLS: Bool { Channel.supportsTLS }
    public static let noTLSMessage =
        "this is the tiny build, without TLS: use an http:// URL (SCEP signs and encrypts its messages end to end)"

    public var connectTimeoutMilliseconds: Int64 = 10_000
    /// For the whole exchange after connecting: a drip-feeding server cannot hold us forever.
    public var exchangeTimeoutMilliseconds: Int64 = 60_000
    public var maximumResponseSize = 1 << 20
    public var maximumRedirects = 3
    /// PEM CA bundle for https:// servers; nil refuses https.
    public var tlsTrust: [UInt8]?
    public var userAgent = "scep-agent"
    /// How host names become addresses (resolv.conf and hosts, as text).
    public var resolver = ResolverConfiguration()
    /// Keep the connection open for the next request (off: `Connection: close` on every request).
    public var keepAlive = true
    /// A kept connection idle longer than this is closed rather than reused: between PENDING
    /// polls, minutes apart, the server will have dropped it anyway.
    public var maximumIdleMilliseconds: Int64 = 5_000
    private let idle = IdleConnection()

    public init(tlsTrust: [UInt8]? = nil) { self.tlsTrust = tlsTrust }

    /// How many TCP connections this client (and its copies) has opened: for tests and benchmarks.
    public var connectionsOpened: Int { idle.opened }

    /// Sends `request` to `url` (path and query included), following redirects.
    public func send(_ request: HTTPRequest, to url: ServerURL) throws(HTTPError) -> HTTPResponse {
        var target = url
        var current = request
        var redirects = 0
        while true {
            let response = try exchange(current, with: target)
            guard [301, 302, 303, 307, 308].contains(response.status), let location = response.header("Location") else {
                return response
            }
            redirects += 1
            guard redirects <= maximumRedirects else { throw .tooManyRedirects(maximumRedirects) }
            let next = try HTTPClient.resolve(location, against: target)
            if target.scheme == .https && next.scheme == .http { throw .badRedirect("https to http downgrade to \(next)") }
            if response.status == 303 { current = HTTPRequest(method: "GET") }
            target = next
        }
    }

    /// A Location header: absolute URL, or an absolute path on the same server.
    static func resolve(_ location: String, against base: ServerURL) throws(HTTPError) -> ServerURL {
        if location.hasPrefix("/") {
            let authority = base.hostIsIPv6 ? "[\(base.host)]" : base.host
            do { return try ServerURL("\(base.scheme.rawValue)://\(authority):\(base.port)\(location)") } catch {
                throw .badRedirect("invalid Location '\(location)'")
            }
        }
        do { return try ServerURL(location) } catch { throw .badRedirect("invalid Location '\(location)'") }
    }

    static func serialize(_ request: HTTPRequest, _ url: ServerURL, userAgent: String, keepAlive: Bool = false) -> [UInt8] {
        var head = "\(request.method) \(url.pathAndQuery) HTTP/1.1\r\n"
        head += "Host: \(url.hostHeader)\r\n"
        head += "User-Agent: \(userAgent)\r\n"
        head += "Accept: */*\r\n"
        if !keepAlive { head += "Connection: close\r\n" }
        if let contentType = request.contentType { head += "Content-Type: \(contentType)\r\n" }
        if request.method == "POST" || !request.body.isEmpty { head += "Content-Length: \(request.body.count)\r\n" }
        head += "\r\n"
        return Array(head.utf8) + request.body
    }

    private func exchange(_ request: HTTPRequest, with url: ServerURL) throws(HTTPError) -> HTTPResponse {
        let origin = "\(url.scheme.rawValue)://\(url.hostHeader)"
        if keepAlive, let kept = idle.take(origin: origin, maximumIdleMilliseconds: maximumIdleMilliseconds) {
            var receivedAny = false
            do {
                return try roundTrip(request, url, kept, origin: origin, receivedAny: &receivedAny)
            } catch {
                // The server closed the kept connection before answering (it may have timed it
                // out just as we sent): send again on a new one. Anything else is a real error.
                guard !receivedAny else { throw error }
            }
        }
        let connectDeadline = monotonicMilliseconds() + connectTimeoutMilliseconds
        let addresses: [IPAddress]
        do { addresses = try Resolver.resolve(url.host, configuration: resolver, deadline: connectDeadline) } catch {
            throw .resolution(url.host, error)
        }
        let connection: TCPConnection
        do {
            connection = try TCPConnection.connect(to: addresses, host: url.host, port: url.port,
                                                   timeoutMilliseconds: max(1, connectDeadline - monotonicMilliseconds()))
        } catch {
            throw .system(error)
        }
        idle.opened += 1
        let deadline = monotonicMilliseconds() + exchangeTimeoutMilliseconds
        let channel: Channel
        do { channel = try Channel.open(connection, url: url, trust: tlsTrust, deadline: deadline) } catch {
            connection.close()
            throw error
        }
        var receivedAny = false
        return try roundTrip(request, url, IdleConnection.Kept(connection: connection, channel: channel), origin: origin, receivedAny: &receivedAny)
    }

    /// One request and its response on an open connection, which is kept for the next request
    /// when the response allows it and closed otherwise.
    private func roundTrip(_ request: HTTPRequest, _ url: ServerURL, _ open: IdleConnection.Kept, origin: String,
                           receivedAny: inout Bool) throws(HTTPError) -> HTTPResponse {
        var keep = false
        defer { if !keep { open.close() } }
        let deadline = monotonicMilliseconds() + exchangeTimeoutMilliseconds
        try open.channel.send(HTTPClient.serialize(request, url, userAgent: userAgent, keepAlive: keepAlive), deadline: deadline)

        var parser = HTTPResponseParser(maximumBodySize: maximumResponseSize)
        var chunk = [UInt8](repeating: 0, count: 16 * 1024)
        // Headers, chunk framing and the body together can never legitimately exceed this.
        let framingLimit = maximumResponseSize + parser.maximumHeaderSize + 64 * 1024
        var received = 0
        while true {
            let count = try open.channel.receive(into: &chunk, deadline: deadline)
            guard count > 0 else { return try parser.finish() }
            receivedAny = true
            received += count
            guard received <= framingLimit else { throw .tooLarge(limit: maximumResponseSize) }
            if let response = try parser.feed(chunk[0..<count]) {
                if keepAlive && response.connectionReusable {
                    keep = true
                    idle.put(open, origin: origin)
                }
                return response
            }
        }
    }
}

/// The one connection a client keeps between requests. A class, so copies of the client share
/// it and the socket closes when the last copy goes.
final class IdleConnection {
    struct Kept {
        let connection: TCPConnection
        var channel: Channel

        func close() {
            var channel = channel
            channel.close()
            connection.close()
        }
    }

    private var kept: Kept?
    private var origin = ""
    private var since: Int64 = 0
    var opened = 0

    func take(origin: String, maximumIdleMilliseconds: Int64) -> Kept? {
        guard let kept else { return nil }
        self.kept = nil
        guard origin == self.origin, monotonicMilliseconds() - since <= maximumIdleMilliseconds else {
            kept.close()
            return nil
        }
        return kept
    }

    func put(_ connection: Kept, origin: String) {
        kept?.close()
        kept = connection
        self.origin = origin
        since = monotonicMilliseconds()
    }

    deinit { kept?.close() }
}
