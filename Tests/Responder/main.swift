// scep-test-responder: the fault-injecting SCEP server the shell tests run the shipped binary
// against. Loopback only; one request at a time; exits after --max-requests or on SIGTERM.
//
//   scep-test-responder --port P --fault NAME [--legacy] [--lifetime SECONDS] [--no-challenge]
//                       [--bag ca|ca-ra|intermediate|device-ra] [--content-in-replies] [--password-replies]
//                       [--state DIR] [--max-requests N]
//
// On start it writes DIR/ca.pem and DIR/ca.sha256 (the pin), then prints "ready" on stdout.
import Foundation
import Glibc
import Crypto
import Encoding
import Protocol
import X509
import TestSupport

func argument(_ name: String) -> String? {
    let arguments = CommandLine.arguments
    guard let index = arguments.firstIndex(of: name), index + 1 < arguments.count else { return nil }
    return arguments[index + 1]
}

guard let portText = argument("--port"), let port = UInt16(portText),
      let fault = ResponderFault(rawValue: argument("--fault") ?? "none") else {
    FileHandle.standardError.write(Data("usage: scep-test-responder --port P --fault \(ResponderFault.allCases.map(\.rawValue).joined(separator: "|"))\n".utf8))
    exit(2)
}
let state = argument("--state") ?? NSTemporaryDirectory()
let maximumRequests = Int(argument("--max-requests") ?? "1000") ?? 1000

// The CA persists in the state directory, so a restarted responder is the same CA (same pin).
let keyPath = state + "/ca.key"
let ca: TestCA
if let keyPEM = FileManager.default.contents(atPath: keyPath),
   let certPEM = FileManager.default.contents(atPath: state + "/ca.pem"),
   let keyDER = PEM.decodeAll([UInt8](keyPEM), label: "RSA PRIVATE KEY")?.first,
   let certDER = PEM.decodeAll([UInt8](certPEM), label: "CERTIFICATE")?.first {
    ca = try TestCA(key: try SoftwareKey.parse(SecretBytes(keyDER), random: try RandomGenerator()), certificate: try Certificate(der: certDER))
} else {
    ca = try TestCA()
    let keyDER = try (ca.key as! SoftwareKey).privateKeyDER().withBytes { Array($0) }
    guard FileManager.default.createFile(atPath: keyPath, contents: Data(PEM.encode(keyDER, label: "RSA PRIVATE KEY").utf8),
                                         attributes: [.posixPermissions: 0o600]) else { fatalError("cannot write \(keyPath)") }
}
let responder = try TestResponder(ca: ca, fault: fault)
responder.legacyAlgorithms = CommandLine.arguments.contains("--legacy")
responder.contentInEveryReply = CommandLine.arguments.contains("--content-in-replies")
responder.passwordReplies = CommandLine.arguments.contains("--password-replies")
if let bag = argument("--bag") {
    guard let chosen = ResponderBag(rawValue: bag) else {
        FileHandle.standardError.write(Data("unknown --bag \(bag)\n".utf8))
        exit(2)
    }
    responder.bag = chosen
}
if let lifetime = argument("--lifetime").flatMap(Int64.init) { responder.certificateLifetime = lifetime }
if CommandLine.arguments.contains("--no-challenge") { responder.challenge = nil }
try Data(PEM.encode(ca.certificate.der, label: "CERTIFICATE").utf8).write(to: URL(fileURLWithPath: state + "/ca.pem"))
try Data(Hex.encode(ca.pin).utf8).write(to: URL(fileURLWithPath: state + "/ca.sha256"))

let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
var one: Int32 = 1
setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
var address = sockaddr_in()
address.sin_family = sa_family_t(AF_INET)
address.sin_port = port.bigEndian
address.sin_addr.s_addr = inet_addr("127.0.0.1")
let bound = withUnsafePointer(to: &address) {
    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
}
guard bound == 0, listen(listener, 16) == 0 else {
    FileHandle.standardError.write(Data("cannot listen on 127.0.0.1:\(port)\n".utf8))
    exit(1)
}
FileHandle.standardOutput.write(Data("ready\n".utf8))

/// Reads one request: head, then Content-Length bytes of body.
func readRequest(_ connection: Int32) -> (method: String, target: String, body: [UInt8])? {
    var buffer: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 65536)
    var headEnd: Int? = nil
    var contentLength = 0
    while true {
        if let end = headEnd, buffer.count >= end + contentLength { break }
        let count = recv(connection, &chunk, chunk.count, 0)
        if count <= 0 { return nil }
        buffer += chunk[0..<count]
        if headEnd == nil, let range = buffer.firstRange(of: Array("\r\n\r\n".utf8)) {
            headEnd = range.upperBound
            let head = String(decoding: buffer[..<range.lowerBound], as: UTF8.self)
            for line in head.split(separator: "\r\n") where line.lowercased().hasPrefix("content-length:") {
                contentLength = Int(line.split(separator: ":")[1].trimmingCharacters(in: .whitespaces)) ?? 0
            }
        }
    }
    let head = String(decoding: buffer[..<headEnd!], as: UTF8.self)
    let requestLine = head.split(separator: "\r\n").first?.split(separator: " ") ?? []
    guard requestLine.count >= 2 else { return nil }
    return (String(requestLine[0]), String(requestLine[1]), Array(buffer[headEnd!..<(headEnd! + contentLength)]))
}

var served = 0
while served < maximumRequests {
    let connection = accept(listener, nil, nil)
    if connection < 0 { continue }
    served += 1
    defer { close(connection) }
    guard let request = readRequest(connection) else { continue }
    let query = request.target.split(separator: "?", maxSplits: 1).dropFirst().first.map(String.init) ?? ""
    var (operation, message) = InProcessTransport.split(query)
    if request.method == "POST" { message = request.body }
    let response = responder.handle(operation: operation, message: message)
    FileHandle.standardError.write(Data("responder: \(request.method) \(operation) -> \(response.status)\n".utf8))
    try? Data(responder.pkiOperations.joined(separator: "\n").utf8).write(to: URL(fileURLWithPath: state + "/operations"))
    if operation == "PKIOperation" && fault == .connectionReset {
        // SO_LINGER with a zero timeout: close() sends RST instead of FIN.
        var linger = Glibc.linger(l_onoff: 1, l_linger: 0)
        setsockopt(connection, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<Glibc.linger>.size))
        continue
    }
    var head = "HTTP/1.1 \(response.status) X\r\nContent-Type: \(response.contentType)\r\nContent-Length: \(response.body.count)\r\nConnection: close\r\n\r\n"
    var body = response.body
    if operation == "GetCACert" && fault == .hugeContentLength {
        head = "HTTP/1.1 200 OK\r\nContent-Type: application/x-x509-ca-cert\r\nContent-Length: 99999999999\r\nConnection: close\r\n\r\n"
    } else if operation == "GetCACert" && fault == .hugeChunk {
        head = "HTTP/1.1 200 OK\r\nContent-Type: application/x-x509-ca-cert\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
        body = Array("80000000\r\n".utf8) + response.body
    }
    let bytes = Array(head.utf8) + body
    var offset = 0
    let drip = operation == "PKIOperation" && fault == .slowDrip
    while offset < bytes.count {
        let headSize = head.utf8.count
        let piece = !drip ? bytes[offset...] : offset < headSize ? bytes[offset..<headSize] : bytes[offset..<(offset + 1)]
        let sent = piece.withUnsafeBytes { send(connection, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        if sent <= 0 { break }
        offset += sent
        if drip && offset > headSize { usleep(500_000) }
    }
}
