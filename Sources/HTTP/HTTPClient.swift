import Encoding
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
    /// The HTTP proxy to go through (`--proxy`, `http_proxy`, `https_proxy`), if any.
    public var proxy: ProxyConfiguration?
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
            if response.status == 407 && proxy(for: target) != nil {
                throw .proxy("the proxy refused the request: 407 Proxy Authentication Required (the proxy wants credentials: --proxy-credentials-file)")
            }
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
        if location.hasUTF8Prefix("/") {
            let authority = base.hostIsIPv6 ? "[\(base.host)]" : base.host
            do { return try ServerURL("\(base.scheme.rawValue)://\(authority):\(base.port)\(location)") } catch {
                throw .badRedirect("invalid Location '\(location)'")
            }
        }
        do { return try ServerURL(location) } catch { throw .badRedirect("invalid Location '\(location)'") }
    }

    /// The request's bytes. Through a proxy, plain HTTP names the whole URL (absolute form) and
    /// carries the proxy's credentials; inside a CONNECT tunnel, the request is as without one.
    static func serialize(_ request: HTTPRequest, _ url: ServerURL, userAgent: String, keepAlive: Bool = false,
                          proxy: ProxyConfiguration? = nil) -> [UInt8] {
        let forward = proxy != nil && url.scheme == .http
        var head = HeaderBytes()
        head.add(request.method, " ")
        if forward { head.add("http://", url.hostHeader) }
        head.add(url.pathAndQuery, " HTTP/1.1\r\n")
        head.field("Host", url.hostHeader)
        if forward, let authorization = proxy?.authorization { head.field("Proxy-Authorization", authorization) }
        head.field("User-Agent", userAgent)
        head.field("Accept", "*/*")
        if !keepAlive { head.field("Connection", "close") }
        if let contentType = request.contentType { head.field("Content-Type", contentType) }
        if request.method == "POST" || !request.body.isEmpty { head.field("Content-Length", "\(request.body.count)") }
        head.add("\r\n")
        return head.bytes + request.body
    }

    /// The proxy for `url`, unless `no_proxy` names its host.
    func proxy(for url: ServerURL) -> ProxyConfiguration? {
        guard let proxy, !proxy.bypasses(url.host) else { return nil }
        return proxy
    }

    private func exchange(_ request: HTTPRequest, with url: ServerURL) throws(HTTPError) -> HTTPResponse {
        let viaProxy = proxy(for: url)
        let origin = (viaProxy.map { "proxy \($0.host):\($0.port) " } ?? "") + "\(url.scheme.rawValue)://\(url.hostHeader)"
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
        // Through a proxy, the connection is to the proxy; the server's name is the proxy's to
        // resolve.
        let host = viaProxy?.host ?? url.host
        let port = viaProxy?.port ?? url.port
        let addresses: [IPAddress]
        do { addresses = try Resolver.resolve(host, configuration: resolver, deadline: connectDeadline) } catch {
            throw .resolution(host, error)
        }
        let connection: TCPConnection
        do {
            connection = try TCPConnection.connect(to: addresses, host: host, port: port,
                                                   timeoutMilliseconds: max(1, connectDeadline - monotonicMilliseconds()))
        } catch {
            if viaProxy != nil { throw .proxy("cannot reach the proxy \(host):\(port): \(error.reason)") }
            throw .system(error)
        }
        idle.opened += 1
        let deadline = monotonicMilliseconds() + exchangeTimeoutMilliseconds
        let channel: Channel
        do throws(HTTPError) {
            #if !SCEP_NO_TLS
            if let viaProxy, url.scheme == .https {
                try HTTPClient.openTunnel(connection, through: viaProxy, to: url, userAgent: userAgent, deadline: deadline)
            }
            #endif
            channel = try Channel.open(connection, url: url, trust: tlsTrust, deadline: deadline)
        } catch {
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
        try open.channel.send(HTTPClient.serialize(request, url, userAgent: userAgent, keepAlive: keepAlive, proxy: proxy(for: url)),
                              deadline: deadline)

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

// A tunnel carries TLS only: the build without TLS (the tiny one) has no use for it.
#if !SCEP_NO_TLS
extension HTTPClient {
    /// Asks the proxy for a tunnel to the server (CONNECT) and reads its answer: 2xx opens the
    /// tunnel, in which TLS then runs end to end; anything else is the proxy's refusal, named.
    static func openTunnel(_ connection: TCPConnection, through proxy: ProxyConfiguration, to url: ServerURL, userAgent: String,
                           deadline: Int64) throws(HTTPError) {
        do { try connection.send(proxy.connectRequest(for: url, userAgent: userAgent), deadline: deadline) } catch {
            throw .proxy("cannot send CONNECT to the proxy \(proxy.host):\(proxy.port): \(error.reason)")
        }
        // The answer's head, a byte at a time: nothing of the server's TLS may be read here.
        var head: [UInt8] = []
        var byte = [UInt8](repeating: 0, count: 1)
        let end: [UInt8] = [13, 10, 13, 10]
        while !head.reversed().starts(with: end.reversed()) {
            guard head.count < 16 * 1024 else { throw .proxy("the proxy's answer to CONNECT has no end") }
            let count: Int
            do throws(SystemError) {
                // Through the typed buffer: withUnsafeMutableBytes is not typed-throws.
                count = try byte.withUnsafeMutableBufferPointer { (typed) throws(SystemError) in
                    try connection.receive(into: UnsafeMutableRawBufferPointer(typed), deadline: deadline)
                }
            } catch {
                throw .proxy("no answer from the proxy to CONNECT: \(error.reason)")
            }
            guard count == 1 else { throw .proxy("the proxy closed the connection instead of answering CONNECT") }
            head.append(byte[0])
        }
        let statusLine = head.prefix { $0 != 13 && $0 != 10 }
        let fields = statusLine.split(separator: 0x20, maxSplits: 2)
        guard fields.count >= 2, fields[0].starts(with: Array("HTTP/1.".utf8)), let status = Numbers.parseInt(fields[1], limit: 999) else {
            throw .proxy("a malformed answer to CONNECT")
        }
        guard (200..<300).contains(status) else {
            let line = String(decoding: statusLine.prefix(200), as: UTF8.self)
            let hint = status == 407 ? " (the proxy wants credentials: --proxy-credentials-file)" : ""
            throw .proxy("the proxy refused CONNECT to \(url.hostHeader): \(line)\(hint)")
        }
    }
}
#endif

/// A request head, appended as bytes: leaner than joining strings.
struct HeaderBytes {
    var bytes: [UInt8] = []

    init() { bytes.reserveCapacity(512) }

    mutating func add(_ parts: String...) {
        for part in parts { bytes.append(contentsOf: part.utf8) }
    }

    mutating func field(_ name: String, _ value: String) { add(name, ": ", value, "\r\n") }
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
