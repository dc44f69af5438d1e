import ASN1
import Crypto
import Foundation
import Glibc
import HTTP
import Platform
import Testing
@testable import Separation

@Suite struct WireTests {
    @Test func aJobSurvivesTheWire() throws {
        var job = NetworkJob(command: .renew, url: "http://127.0.0.1:8080/scep")
        job.pin = [UInt8](repeating: 7, count: 32)
        job.raPins = [[UInt8](repeating: 1, count: 32)]
        job.timeoutSeconds = 17
        job.unprivileged = (4_294_967_294, 65534)  // a 32-bit uid past Int32's range
        job.probe = "exec"
        let decoded = try NetworkJob(decoding: job.encoded())
        #expect(decoded == job)
        #expect(decoded.unprivileged?.uid == 4_294_967_294)
        #expect(decoded.timeoutSeconds == 17)
    }

    /// The committed fuzz seed for a job is one the decoder takes: the seeds reach past the
    /// framing into the fields.
    @Test func theFuzzSeedsDecode() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fuzz/corpus/wire")
        let job = try NetworkJob(decoding: Array(try Data(contentsOf: root.appendingPathComponent("job"))))
        #expect(job.command == .renew && job.unprivileged?.uid == 65534)
        #expect(job.proxy?.host == "proxy.example" && job.proxy?.port == 3128 && job.proxy?.bypass == [".example.net"])
        for name in try FileManager.default.contentsOfDirectory(atPath: root.path) where name != "job" {
            var (kind, fields) = try Wire.decode(Array(try Data(contentsOf: root.appendingPathComponent(name))))
            switch kind {
            case .log: _ = try KeyServer.logLine(&fields)
            case .result: _ = try NetworkResult(fields: &fields)
            case .warn: _ = try fields.readText()
            default: _ = try KeyRequest(kind, &fields)
            }
        }
    }

    @Test func everyTruncationOfAJobIsRefused() {
        let encoded = NetworkJob(command: .caps, url: "http://127.0.0.1/").encoded()
        for length in 0..<encoded.count {
            #expect(throws: DERError.self) { try NetworkJob(decoding: Array(encoded[0..<length])) }
        }
    }
}

@Suite struct HTTPTransportTests {
    /// Only a server out of reach is "cannot reach"; one that answered badly is named as such.
    @Test func unreachableAndUnusableServersAreToldApart() {
        let refused = HTTPTransport.scepError(.system(SystemError("connect", path: "127.0.0.1:1", code: ECONNREFUSED)))
        #expect("\(refused)".hasPrefix("cannot reach the SCEP server: connect"))
        for answer: HTTPError in [.malformed("no status line"), .tooLarge(limit: 1024), .closedEarly, .badRedirect("to ftp:"),
                                  .tooManyRedirects(5), .tls(CryptoError(.tls(.handshake), code: -0x2700))] {
            let error = HTTPTransport.scepError(answer)
            #expect("\(error)" == "the SCEP server's answer is unusable: \(answer)")
        }
    }
}
