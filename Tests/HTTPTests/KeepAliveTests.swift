import Foundation
import Glibc
import Testing
@testable import HTTP

@Suite struct ConnectionReuseParsingTests {
    func reusable(_ text: String, atEnd: Bool = false) throws -> Bool {
        try #require(try parser.parse(bytes(text), atEnd: atEnd)).connectionReusable
    }

    @Test func onlyAnExactlyFramedHTTP11ResponseLeavesTheConnectionReusable() throws {
        #expect(try reusable("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"))
        #expect(try reusable("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n"))
        #expect(try reusable("HTTP/1.1 204 No Content\r\n\r\n"))
        #expect(try !reusable("HTTP/1.1 200 OK\r\nConnection: keep-alive, Close\r\nContent-Length: 2\r\n\r\nok"))
        #expect(try !reusable("HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok"))
        // Bytes after the body: the stream is out of step, never reuse it.
        #expect(try !reusable("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200"))
        // A body that ends with the connection.
        #expect(try !reusable("HTTP/1.1 200 OK\r\n\r\nok", atEnd: true))
    }
}

/// A loopback HTTP server on a thread: answers each request on a connection with `body`, and
/// closes the connection after `requestsPerConnection` answers.
final class LoopbackServer: @unchecked Sendable {
    let port: UInt16
    private let listener: Int32
    let requestsPerConnection: Int
    let closeHeader: Bool

    init(requestsPerConnection: Int, closeHeader: Bool = false) throws {
        self.requestsPerConnection = requestsPerConnection
        self.closeHeader = closeHeader
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
                bind(descriptor, pointer, length) == 0 && listen(descriptor, 8) == 0 && getsockname(descriptor, pointer, &length) == 0
            }
        }
        guard bound else { throw POSIXError(.EADDRNOTAVAIL) }
        listener = descriptor
        port = UInt16(bigEndian: address.sin_port)
        Thread.detachNewThread { self.serve() }
    }

    deinit { close(listener) }

    private func serve() {
        while true {
            let connection = accept(listener, nil, nil)
            if connection < 0 { return }
            var buffer = [UInt8](repeating: 0, count: 4096)
            for _ in 0..<requestsPerConnection {
                // The tests send small GETs: one read holds the whole request.
                guard recv(connection, &buffer, buffer.count, 0) > 0 else { break }
                let reply = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n" + (closeHeader ? "Connection: close\r\n" : "") + "\r\nok"
                _ = send(connection, reply, reply.utf8.count, Int32(MSG_NOSIGNAL))
            }
            close(connection)
        }
    }
}

@Suite(.serialized) struct KeepAliveTests {
    func get(_ client: HTTPClient, _ server: LoopbackServer, times: Int) throws {
        let url = try ServerURL("http://127.0.0.1:\(server.port)/scep")
        for _ in 0..<times {
            #expect(try client.send(HTTPRequest(method: "GET"), to: url).body == bytes("ok"))
        }
    }

    @Test func aTransactionsRequestsShareOneConnection() throws {
        let server = try LoopbackServer(requestsPerConnection: 10)
        let client = HTTPClient()
        try get(client, server, times: 3)
        #expect(client.connectionsOpened == 1)
    }

    @Test func aConnectionTheServerClosedIsReplacedTransparently() throws {
        // The server answers once per connection but does not say so: each reuse meets a closed
        // socket before any byte of an answer, and the request goes again on a new connection.
        let server = try LoopbackServer(requestsPerConnection: 1)
        let client = HTTPClient()
        try get(client, server, times: 3)
        #expect(client.connectionsOpened == 3)
    }

    @Test func connectionCloseAndKeepAliveOffAreHonoured() throws {
        let closing = try LoopbackServer(requestsPerConnection: 10, closeHeader: true)
        let client = HTTPClient()
        try get(client, closing, times: 2)
        #expect(client.connectionsOpened == 2)

        let server = try LoopbackServer(requestsPerConnection: 10)
        var off = HTTPClient()
        off.keepAlive = false
        try get(off, server, times: 2)
        #expect(off.connectionsOpened == 2)
    }

    @Test func anIdleConnectionIsNotKeptPastItsLimit() throws {
        let server = try LoopbackServer(requestsPerConnection: 10)
        var client = HTTPClient()
        client.maximumIdleMilliseconds = 0
        try get(client, server, times: 1)
        usleep(5_000)
        try get(client, server, times: 1)
        #expect(client.connectionsOpened == 2)
    }
}
