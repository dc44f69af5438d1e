import Encoding

/// One HTTP answer, as the protocol layer sees it.
public struct SCEPResponse: Equatable {
    public var status: Int
    /// The Content-Type header as sent, parameters included.
    public var contentType: String
    public var body: [UInt8]

    public init(status: Int, contentType: String, body: [UInt8]) {
        self.status = status
        self.contentType = contentType
        self.body = body
    }

    /// The media type alone, lower-cased: `application/x-pki-message; charset=...` -> `application/x-pki-message`.
    public var mediaType: String {
        let bytes = Array(contentType.utf8)
        let end = bytes.firstIndex(of: UInt8(ascii: ";")) ?? bytes.endIndex
        return String(decoding: bytes[..<end], as: UTF8.self).trimmingASCIIWhitespace.asciiLowercased
    }
}

/// How SCEP messages reach the server. The HTTP client implements it for real; tests implement it
/// with an in-process responder, so the protocol code is exercised without a network.
///
/// `query` is the complete, already percent-encoded query string, such as
/// `operation=GetCACaps`; the transport appends it to the configured URL.
public protocol SCEPTransport {
    /// Whether the transport authenticated the server (TLS against --tls-ca): then what the
    /// server says of its RA certificates is the server's own word.
    var authenticatesServer: Bool { get }
    mutating func get(query: String) throws(SCEPError) -> SCEPResponse
    mutating func post(query: String, body: [UInt8], contentType: String) throws(SCEPError) -> SCEPResponse
}
