import Crypto
import HTTP
import Platform
import Protocol

/// What every command that talks to the server needs, built once from the settings.
struct CommandContext {
    let settings: Settings
    let logger: Logger

    /// A fresh SCEP client for the configured URL (and TLS trust, for https).
    func client() throws(CommandFailure) -> SCEPClient<HTTPTransport> {
        guard let url = settings.url else { throw CommandFailure(.usage, "no --url configured") }
        var http = HTTPClient()
        if url.scheme == .https && !HTTPClient.supportsTLS { throw CommandFailure(.usage, HTTPClient.noTLSMessage) }
        if let path = settings.tlsCA {
            do { http.tlsTrust = try readFile(path, limit: 1 << 20) } catch {
                throw CommandFailure(.usage, "cannot read --tls-ca: \(error)")
            }
        } else if url.scheme == .https {
            throw CommandFailure(.usage, "an https:// URL needs --tls-ca (a PEM bundle of the CAs to trust)")
        }
        http.userAgent = "scep-agent/\(Version.number)"
        http.exchangeTimeoutMilliseconds = settings.timeout * 1000
        http.connectTimeoutMilliseconds = min(10_000, settings.timeout * 1000)
        return SCEPClient(transport: HTTPTransport(client: http, url: url, logger: logger))
    }

    func randomGenerator() throws(CommandFailure) -> RandomGenerator {
        do { return try RandomGenerator() } catch { throw CommandFailure(.failure, "\(error)") }
    }

}

/// A command's failure: the exit status and the one line to print.
struct CommandFailure: Error {
    let status: ExitStatus
    let message: String

    init(_ status: ExitStatus, _ message: String) {
        self.status = status
        self.message = message
    }

    init(_ error: SCEPError) {
        self.init(.failure, "\(error)")
    }
}
