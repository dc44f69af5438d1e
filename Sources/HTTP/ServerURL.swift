import Encoding

/// An `http://` or `https://` URL, split into what a request needs.
///
/// Hosts may be names, IPv4 literals or bracketed IPv6 literals (`http://[::1]:8080/scep`).
/// Userinfo is refused: a password in a URL would end up in logs.
public struct ServerURL: Equatable, CustomStringConvertible {
    public enum Scheme: String, Equatable { case http, https }

    public let scheme: Scheme
    /// Without brackets for IPv6 literals.
    public let host: String
    public let port: UInt16
    /// Path with any query, always starting with "/".
    public let pathAndQuery: String

    /// RFC 8894 section 4.1: the path when the URL names none.
    public static let defaultPath = "/cgi-bin/pkiclient.exe"

    public enum ParseError: Error, Equatable, CustomStringConvertible {
        case scheme, host, port, userinfo, characters

        public var description: String {
            switch self {
            case .scheme: "must start with http:// or https://"
            case .host: "has no valid host"
            case .port: "has an invalid port"
            case .userinfo: "must not carry a user name or password"
            case .characters: "contains spaces or control characters"
            }
        }
    }

    public init(_ text: String) throws(ParseError) {
        let bytes = Array(text.utf8)
        guard bytes.allSatisfy({ $0 > 0x20 && $0 != 0x7f }) else { throw .characters }
        let rest: ArraySlice<UInt8>
        if text.hasPrefixIgnoringASCIICase("https://") {
            scheme = .https
            rest = bytes[8...]
        } else if text.hasPrefixIgnoringASCIICase("http://") {
            scheme = .http
            rest = bytes[7...]
        } else {
            throw .scheme
        }
        let authorityEnd = rest.firstIndex { $0 == UInt8(ascii: "/") || $0 == UInt8(ascii: "?") } ?? rest.endIndex
        let authority = rest[rest.startIndex..<authorityEnd]
        guard !authority.contains(UInt8(ascii: "@")) else { throw .userinfo }

        var hostPart = authority
        var portPart: ArraySlice<UInt8>? = nil
        if authority.first == UInt8(ascii: "[") {
            guard let close = authority.firstIndex(of: UInt8(ascii: "]")) else { throw .host }
            hostPart = authority[(authority.startIndex + 1)..<close]
            let after = authority[(close + 1)...]
            if !after.isEmpty {
                guard after.first == UInt8(ascii: ":") else { throw .host }
                portPart = after.dropFirst()
            }
            guard !hostPart.isEmpty, hostPart.allSatisfy({ Hex.isDigit($0) || $0 == UInt8(ascii: ":") || $0 == UInt8(ascii: ".") }) else {
                throw .host
            }
        } else if let colon = authority.firstIndex(of: UInt8(ascii: ":")) {
            hostPart = authority[authority.startIndex..<colon]
            portPart = authority[(colon + 1)...]
        }
        guard !hostPart.isEmpty, hostPart.count <= 253 else { throw .host }
        if authority.first != UInt8(ascii: "[") {
            guard hostPart.allSatisfy({ ServerURL.isHostCharacter($0) }) else { throw .host }
        }
        host = String(decoding: hostPart, as: UTF8.self)

        if let portPart {
            guard portPart.count <= 5, let value = Numbers.parseInt(portPart, limit: 65535), value >= 1 else { throw .port }
            port = UInt16(value)
        } else {
            port = scheme == .https ? 443 : 80
        }

        let path = String(decoding: rest[authorityEnd...], as: UTF8.self)
        if path.isEmpty {
            pathAndQuery = ServerURL.defaultPath
        } else if path.hasUTF8Prefix("?") {
            pathAndQuery = ServerURL.defaultPath + path
        } else {
            pathAndQuery = path
        }
    }

    /// The same server with `query` appended to the path's query (with `&` if it already has one).
    public func appendingQuery(_ query: String) -> ServerURL {
        let separator = pathAndQuery.utf8.contains(UInt8(ascii: "?")) ? "&" : "?"
        return ServerURL(scheme: scheme, host: host, port: port, pathAndQuery: pathAndQuery + separator + query)
    }

    private init(scheme: Scheme, host: String, port: UInt16, pathAndQuery: String) {
        self.scheme = scheme
        self.host = host
        self.port = port
        self.pathAndQuery = pathAndQuery
    }

    static func isHostCharacter(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
             UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"):
            true
        default:
            false
        }
    }

    /// Whether the host is an IPv6 literal (and so needs brackets in a Host header).
    public var hostIsIPv6: Bool { host.utf8.contains(UInt8(ascii: ":")) }

    /// The Host header value: the port only when it is not the scheme's default.
    public var hostHeader: String {
        let name = hostIsIPv6 ? "[\(host)]" : host
        let defaultPort: UInt16 = scheme == .https ? 443 : 80
        return port == defaultPort ? name : "\(name):\(port)"
    }

    public var description: String { "\(scheme.rawValue)://\(hostHeaderWithPort)\(pathAndQuery)" }

    private var hostHeaderWithPort: String { (hostIsIPv6 ? "[\(host)]" : host) + ":\(port)" }
}
