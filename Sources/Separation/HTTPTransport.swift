import HTTP
import Platform
import Protocol

/// SCEP over HTTP(S) to the configured URL: the real `SCEPTransport`.
struct HTTPTransport: SCEPTransport {
    let client: HTTPClient
    let url: ServerURL
    let logger: Logger

    /// TLS authenticates the server against --tls-ca; plain HTTP authenticates nothing.
    var authenticatesServer: Bool { url.scheme == .https }

    mutating func get(query: String) throws(SCEPError) -> SCEPResponse {
        try send(HTTPRequest(method: "GET"), query: query)
    }

    mutating func post(query: String, body: [UInt8], contentType: String) throws(SCEPError) -> SCEPResponse {
        try send(HTTPRequest(method: "POST", body: body, contentType: contentType), query: query)
    }

    private func send(_ request: HTTPRequest, query: String) throws(SCEPError) -> SCEPResponse {
        let target = url.appendingQuery(query)
        logger.debug("http request", [("method", request.method), ("url", HTTPTransport.redacted(target)),
                                      ("bytes", "\(request.body.count)")])
        do {
            let watch = Stopwatch()
            let response = try client.send(request, to: target)
            logger.debug("http response", [("status", "\(response.status)"),
                                           ("content_type", response.header("Content-Type") ?? ""),
                                           ("bytes", "\(response.body.count)"),
                                           ("connections_opened", "\(client.connectionsOpened)"),
                                           ("ms", watch.milliseconds)])
            return SCEPResponse(status: response.status, contentType: response.header("Content-Type") ?? "", body: response.body)
        } catch {
            throw HTTPTransport.scepError(error)
        }
    }

    /// A server out of reach (refused, reset, timed out) is told apart from one that answered
    /// with something unusable (malformed or oversized HTTP, a bad redirect, a failed TLS
    /// handshake): the first is the network's fault, the second the server's.
    static func scepError(_ error: HTTPError) -> SCEPError {
        switch error {
        case .system, .resolution, .proxy: return .transport("\(error)")
        default: break
        }
        return .badHTTP("\(error)")
    }

    /// The URL for logs, without a GET message (it is long and says nothing to a person).
    static func redacted(_ url: ServerURL) -> String {
        let text = Array("\(url)".utf8)
        let marker = Array("&message=".utf8)
        guard text.count >= marker.count else { return "\(url)" }
        for start in 0...(text.count - marker.count) where text[start..<(start + marker.count)].elementsEqual(marker) {
            return String(decoding: text[..<start], as: UTF8.self) + "&message=..."
        }
        return "\(url)"
    }
}
