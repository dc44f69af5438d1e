import Testing
@testable import HTTP

@Suite struct ServerURLTests {
    @Test func defaultsAndLiterals() throws {
        let plain = try ServerURL("http://ca.example")
        #expect(plain.port == 80 && plain.pathAndQuery == ServerURL.defaultPath && plain.hostHeader == "ca.example")
        let tls = try ServerURL("HTTPS://ca.example:8443/scep?x=1")
        #expect(tls.scheme == .https && tls.port == 8443 && tls.pathAndQuery == "/scep?x=1")
        #expect(tls.hostHeader == "ca.example:8443")
        let v6 = try ServerURL("http://[::1]:8080/scep")
        #expect(v6.host == "::1" && v6.hostIsIPv6 && v6.hostHeader == "[::1]:8080")
        #expect(try ServerURL("http://127.0.0.1/scep").host == "127.0.0.1")
    }

    @Test("invalid URLs", arguments: [
        ("ftp://h/", ServerURL.ParseError.scheme), ("http://", .host), ("http://:80/", .host),
        ("http://h:0/", .port), ("http://h:99999/", .port), ("http://h:x/", .port),
        ("http://user:pw@h/", .userinfo), ("http://h /", .characters), ("http://[::1/", .host),
        ("http://h!/", .host),
    ])
    func invalid(text: String, error: ServerURL.ParseError) {
        #expect(throws: error) { try ServerURL(text) }
    }
}
