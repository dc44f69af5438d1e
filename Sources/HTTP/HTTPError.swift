import Crypto
import Platform

/// Why an HTTP exchange failed. Descriptions name the server, never a request body.
public enum HTTPError: Error, Equatable, CustomStringConvertible {
    case system(SystemError)
    /// The server's name did not resolve.
    case resolution(String, ResolutionError)
    case malformed(String)
    case tooLarge(limit: Int)
    case tooManyRedirects(Int)
    case badRedirect(String)
    case closedEarly
    case tls(CryptoError)
    /// An https:// URL in the tiny build, which has no TLS.
    case tlsUnavailable
    /// An https:// URL without the CAs to trust.
    case tlsWithoutTrust
    /// The proxy could not be reached, or refused what was asked of it.
    case proxy(String)

    public var description: String {
        switch self {
        case .system(let error): error.isTimeout ? "\(error.operation) \(error.path): timed out" : "\(error)"
        case .resolution(let host, let error): "resolve \(host): \(error)"
        case .malformed(let detail): "malformed HTTP response: \(detail)"
        case .tooLarge(let limit): "HTTP response larger than \(limit) bytes"
        case .tooManyRedirects(let count): "more than \(count) redirects"
        case .badRedirect(let detail): "refusing redirect: \(detail)"
        case .closedEarly: "the server closed the connection before the response was complete"
        case .tls(let error): "TLS: \(error)"
        case .tlsUnavailable: "TLS: " + HTTPClient.noTLSMessage
        case .tlsWithoutTrust: "TLS: https:// needs --tls-ca (a PEM bundle of the CAs to trust)"
        case .proxy(let detail): "proxy: \(detail)"
        }
    }
}
