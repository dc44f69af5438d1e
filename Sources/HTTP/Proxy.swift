import Encoding
import Platform

/// An HTTP proxy between the agent and the SCEP server: plain HTTP requests go to it in absolute
/// form, HTTPS goes through a CONNECT tunnel in which TLS runs end to end, verified against
/// --tls-ca as without a proxy (the proxy sees only the server's name and port).
public struct ProxyConfiguration: Equatable, Sendable {
    public var host: String
    public var port: UInt16
    /// `Proxy-Authorization: Basic ...`'s value, from --proxy-credentials-file; never from a URL
    /// or the command line.
    public var authorization: String?
    /// Hosts reached directly (`no_proxy`): a name, a domain suffix (`.example.com` or
    /// `example.com`), an IP literal, or `*` for every host.
    public var bypass: [String]

    public init(host: String, port: UInt16, authorization: String? = nil, bypass: [String] = []) {
        self.host = host
        self.port = port
        self.authorization = authorization
        self.bypass = bypass
    }

    /// A proxy URL: `http://host:port` (port 80 when none is given, as for any http:// URL; a
    /// path is ignored). Credentials in the URL are refused: they would show in `ps` and the
    /// journal.
    public init(url text: String, authorization: String?, bypass: [String]) throws(ProxyError) {
        let url: ServerURL
        do { url = try ServerURL(text) } catch {
            if error == .userinfo { throw .credentialsInURL }
            throw .invalidURL(text, error)
        }
        guard url.scheme == .http else { throw .httpsProxy(text) }
        self.init(host: url.host, port: url.port, authorization: authorization, bypass: bypass)
    }

    /// Basic credentials (RFC 7617) from a file's first line, `user:password`.
    public static func basicAuthorization(_ line: [UInt8]) -> String? {
        let trimmed = Array(line.prefix { $0 != 0x0a && $0 != 0x0d })
        guard trimmed.contains(UInt8(ascii: ":")), trimmed.allSatisfy({ $0 >= 0x20 && $0 != 0x7f }) else { return nil }
        return "Basic " + Base64.encode(trimmed)
    }

    /// The `no_proxy` list: comma- or space-separated entries, lowercased, a leading dot kept.
    public static func bypassList(_ text: String) -> [String] {
        text.asciiLowercased.utf8.split(whereSeparator: { $0 == UInt8(ascii: ",") || $0 == 0x20 })
            .map { String(decoding: $0, as: UTF8.self) }
    }

    /// Whether `host` is reached without the proxy.
    public func bypasses(_ host: String) -> Bool {
        let name = host.asciiLowercased
        for entry in bypass {
            if entry == "*" || entry == name { return true }
            let suffix = entry.utf8.first == UInt8(ascii: ".") ? entry : "." + entry
            if name.utf8.count > suffix.utf8.count && name.utf8.reversed().starts(with: suffix.utf8.reversed()) { return true }
        }
        return false
    }

    #if !SCEP_NO_TLS
    /// The CONNECT request for the server's host and port (RFC 9110 section 9.3.6).
    func connectRequest(for url: ServerURL, userAgent: String) -> [UInt8] {
        let authority = (url.hostIsIPv6 ? "[\(url.host)]" : url.host) + ":\(url.port)"
        var head = HeaderBytes()
        head.add("CONNECT ", authority, " HTTP/1.1\r\n")
        head.field("Host", authority)
        head.field("User-Agent", userAgent)
        if let authorization { head.field("Proxy-Authorization", authorization) }
        head.add("\r\n")
        return head.bytes
    }
    #endif
}

/// Why a proxy could not be used.
public enum ProxyError: Error, Equatable, CustomStringConvertible {
    case invalidURL(String, ServerURL.ParseError)
    /// A proxy is reached with http:// (and carries https:// in a CONNECT tunnel).
    case httpsProxy(String)
    case credentialsInURL

    public var description: String {
        switch self {
        case .invalidURL(let url, let why): "the proxy URL \(url) \(why)"
        case .httpsProxy(let url): "the proxy URL \(url) must start with http:// (a proxy carries https:// in a CONNECT tunnel)"
        case .credentialsInURL: "the proxy URL carries credentials: put them in --proxy-credentials-file (user:password)"
        }
    }
}
