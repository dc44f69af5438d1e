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

/// A small HTTP/1.1 client: one request per connection (`Connection: close`), deadlines on
/// connect and on the whole exchange, a cap on the response, a bounded number of redirects, and
/// TLS for `https://` (through the crypto layer, verified against the configured CA bundle).
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

    public init(tlsTrust: [UInt8]? = nil) { self.tlsTrust = tlsTrust }

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

    static func serialize(_ request: HTTPRequest, _ url: ServerURL, userAgent: String) -> [UInt8] {
        var head = "\(request.method) \(url.pathAndQuery) HTTP/1.1\r\n"
        head += "Host: \(url.hostHeader)\r\n"
        head += "User-Agent: \(userAgent)\r\n"
        head += "Accept: */*\r\n"
        head += "Connection: close\r\n"
        if let contentType = request.contentType { head += "Content-Type: \(contentType)\r\n" }
        if request.method == "POST" || !request.body.isEmpty { head += "Content-Length: \(request.body.count)\r\n" }
        head += "\r\n"
        return Array(head.utf8) + request.body
    }

    private func exchange(_ request: HTTPRequest, with url: ServerURL) throws(HTTPError) -> HTTPResponse {
        let connection: TCPConnection
        do {
            connection = try TCPConnection.connect(host: url.host, port: url.port, timeoutMilliseconds: connectTimeoutMilliseconds)
        } catch {
            throw .system(error)
        }
        defer { connection.close() }
        let deadline = monotonicMilliseconds() + exchangeTimeoutMilliseconds
        var channel = try Channel.open(connection, url: url, trust: tlsTrust, deadline: deadline)
        defer { channel.close() }
        try channel.send(HTTPClient.serialize(request, url, userAgent: userAgent), deadline: deadline)

        let parser = HTTPResponseParser(maximumBodySize: maximumResponseSize)
        var received: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16 * 1024)
        while true {
            let count = try channel.receive(into: &chunk, deadline: deadline)
            if count > 0 { received.append(contentsOf: chunk[0..<count]) }
            if let response = try parser.parse(received, atEnd: count == 0) { return response }
            // Headers, chunk framing and the body together can never legitimately exceed this.
            if received.count > maximumResponseSize + 64 * 1024 { throw .tooLarge(limit: maximumResponseSize) }
        }
    }
}
