import Testing
@testable import HTTP

@Suite struct ProxyTests {
    @Test func noProxyMatchesNamesDomainsAndEverything() {
        let proxy = ProxyConfiguration(host: "proxy", port: 3128, bypass: ProxyConfiguration.bypassList("localhost, .corp.example,example.net 192.0.2.1"))
        #expect(proxy.bypasses("localhost") && proxy.bypasses("LOCALHOST"))
        #expect(proxy.bypasses("ca.corp.example") && !proxy.bypasses("corp.example.evil"))
        #expect(proxy.bypasses("scep.example.net") && proxy.bypasses("example.net") && !proxy.bypasses("badexample.net"))
        #expect(proxy.bypasses("192.0.2.1") && !proxy.bypasses("192.0.2.10"))
        #expect(ProxyConfiguration(host: "p", port: 1, bypass: ["*"]).bypasses("anything.example"))
    }

    @Test func credentialsComeFromAFileNeverFromTheURL() throws {
        #expect(throws: ProxyError.credentialsInURL) { try ProxyConfiguration(url: "http://user:pass@proxy:3128", authorization: nil, bypass: []) }
        #expect(throws: ProxyError.self) { try ProxyConfiguration(url: "https://proxy:3128", authorization: nil, bypass: []) }
        let proxy = try ProxyConfiguration(url: "http://proxy.example:8080", authorization: nil, bypass: [])
        #expect(proxy.host == "proxy.example" && proxy.port == 8080)
        #expect(ProxyConfiguration.basicAuthorization(Array("scep-device:pa ss\n".utf8)) == "Basic c2NlcC1kZXZpY2U6cGEgc3M=")
        #expect(ProxyConfiguration.basicAuthorization(Array("no-colon\n".utf8)) == nil)
        #expect(ProxyConfiguration.basicAuthorization(Array("user:pass\u{1b}\n".utf8)) == nil)
    }

    @Test func requestsThroughAProxyNameTheWholeURLAndTunnelsNameTheServer() throws {
        let proxy = ProxyConfiguration(host: "proxy", port: 3128, authorization: "Basic eDp5")
        let plain = try ServerURL("http://ca.example:8080/scep?operation=GetCACaps")
        let head = String(decoding: HTTPClient.serialize(HTTPRequest(method: "GET"), plain, userAgent: "t", proxy: proxy), as: UTF8.self)
        #expect(head.hasPrefix("GET http://ca.example:8080/scep?operation=GetCACaps HTTP/1.1\r\nHost: ca.example:8080\r\n"))
        #expect(head.contains("Proxy-Authorization: Basic eDp5\r\n"))
        // Inside a CONNECT tunnel the request is the server's own, and carries no credentials.
        let tls = try ServerURL("https://ca.example/scep?operation=GetCACaps")
        let inside = String(decoding: HTTPClient.serialize(HTTPRequest(method: "GET"), tls, userAgent: "t", proxy: proxy), as: UTF8.self)
        #expect(inside.hasPrefix("GET /scep?operation=GetCACaps HTTP/1.1\r\n") && !inside.contains("Proxy-Authorization"))
        let connect = String(decoding: proxy.connectRequest(for: tls, userAgent: "t"), as: UTF8.self)
        #expect(connect.hasPrefix("CONNECT ca.example:443 HTTP/1.1\r\nHost: ca.example:443\r\n") && connect.hasSuffix("\r\n\r\n"))
    }
}
