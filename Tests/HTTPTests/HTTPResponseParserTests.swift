import Testing
@testable import HTTP

let parser = HTTPResponseParser(maximumBodySize: 1024)

func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

@Suite struct HTTPResponseParserTests {
    @Test func contentLength() throws {
        let raw = bytes("HTTP/1.1 200 OK\r\nContent-Type: application/x-pki-message\r\nContent-Length: 5\r\n\r\nhello")
        let response = try #require(try parser.parse(raw, atEnd: false))
        #expect(response.status == 200 && response.body == bytes("hello"))
        #expect(response.header("content-type") == "application/x-pki-message")
        #expect(try parser.parse(Array(raw.dropLast()), atEnd: false) == nil)
        #expect(throws: HTTPError.closedEarly) { try parser.parse(Array(raw.dropLast()), atEnd: true) }
    }

    @Test func chunkedWithExtensionsAndTrailers() throws {
        let raw = bytes("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: y\r\n\r\n")
        #expect(try parser.parse(raw, atEnd: false)?.body == bytes("hello world"))
        for cut in stride(from: 40, to: raw.count - 1, by: 3) {
            #expect(try parser.parse(Array(raw.prefix(cut)), atEnd: false) == nil)
        }
    }

    @Test func bodyUntilCloseAndInterimResponses() throws {
        let raw = bytes("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.0 200 OK\n\nplain body")
        #expect(try parser.parse(raw, atEnd: false) == nil)
        #expect(try parser.parse(raw, atEnd: true)?.body == bytes("plain body"))
    }

    @Test("hostile responses are refused, never crash or grow", arguments: [
        "HTTP/1.1 200 OK\r\nContent-Length: 2048\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello",
        "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nfffffffff\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nhelloo\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: xchunked\r\n\r\n0\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding:\r\nContent-Length: 2\r\n\r\nok",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: , ,\r\nContent-Length: 2\r\n\r\nok",
        "SMTP ready\r\n\r\n",
        "HTTP/1.1 2000 OK\r\n\r\n",
        "HTTP/1.1 200 OK\r\nno colon here\r\n\r\n",
    ])
    func hostile(text: String) {
        #expect(throws: HTTPError.self) { try parser.parse(bytes(text), atEnd: true) }
    }

    @Test func oversizedHeadersAreRefusedBeforeTheyEnd() {
        let raw = bytes("HTTP/1.1 200 OK\r\n") + [UInt8](repeating: 0x61, count: 20_000)
        #expect(throws: HTTPError.self) { try parser.parse(raw, atEnd: false) }
    }

    @Test func everyPrefixOfAValidResponseIsSafe() throws {
        let raw = bytes("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX: y\r\n\r\n4\r\nabcd\r\n0\r\n\r\n")
        for cut in 0...raw.count {
            _ = try? parser.parse(Array(raw.prefix(cut)), atEnd: false)
            _ = try? parser.parse(Array(raw.prefix(cut)), atEnd: true)
        }
    }
}

@Suite struct HTTPRequestTests {
    @Test func serializesAHostHeaderAndLength() throws {
        let url = try ServerURL("http://[::1]:8080/scep")
        let request = HTTPClient.serialize(HTTPRequest(method: "POST", body: [1, 2, 3], contentType: "application/x-pki-message"),
                                           url.appendingQuery("operation=PKIOperation"), userAgent: "t")
        let text = String(decoding: request.dropLast(3), as: UTF8.self)
        #expect(text.hasPrefix("POST /scep?operation=PKIOperation HTTP/1.1\r\nHost: [::1]:8080\r\n"))
        #expect(text.contains("Content-Length: 3\r\n") && text.contains("Content-Type: application/x-pki-message\r\n"))
        #expect(Array(request.suffix(3)) == [1, 2, 3])
    }

    @Test func queriesAppendToExistingQueries() throws {
        #expect(try ServerURL("http://h/scep?tenant=7").appendingQuery("operation=GetCACaps").pathAndQuery == "/scep?tenant=7&operation=GetCACaps")
    }

    @Test func redirectsResolveAndNeverDowngrade() throws {
        let base = try ServerURL("https://ca.example/scep")
        #expect(try HTTPClient.resolve("/other", against: base).description == "https://ca.example:443/other")
        #expect(try HTTPClient.resolve("https://b.example/x", against: base).host == "b.example")
        #expect(throws: HTTPError.self) { try HTTPClient.resolve("ftp://x/", against: base) }
    }
}
