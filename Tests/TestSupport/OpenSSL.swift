import Foundation

/// Runs the `openssl` CLI, the independent implementation our DER and CMS are checked against.
public enum OpenSSL {
    public struct Result {
        public let status: Int32
        public let output: Data
        public let error: String
        public var text: String { String(decoding: output, as: UTF8.self) }
    }

    @discardableResult
    public static func run(_ arguments: [String], input: Data? = nil) throws -> Result {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        process.arguments = arguments
        let stdout = Pipe(), stderr = Pipe(), stdin = Pipe()
        process.standardOutput = stdout
        process.standardError = stderr
        process.standardInput = stdin
        try process.run()
        if let input { stdin.fileHandleForWriting.write(input) }
        try stdin.fileHandleForWriting.close()
        let output = stdout.fileHandleForReading.readDataToEndOfFile()
        let error = stderr.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Result(status: process.terminationStatus, output: output, error: String(decoding: error, as: UTF8.self))
    }
}

/// A fresh directory under /tmp for one test's files.
public func scratchDirectory(_ name: String = "test") throws -> URL {
    let url = URL(fileURLWithPath: "/tmp/scep-agent-\(name)-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

/// A CA made by openssl: the independent issuer our chain code and CMS code are tested against.
public struct OpenSSLCA {
    public let directory: URL
    public var keyPath: String { directory.appendingPathComponent("ca.key").path }
    public var certPath: String { directory.appendingPathComponent("ca.pem").path }
    public let certDER: [UInt8]

    public init(subject: String = "/CN=Test CA/O=scep-agent tests", keyUsage: String = "critical,keyCertSign,cRLSign,digitalSignature,keyEncipherment") throws {
        directory = try scratchDirectory("ca")
        let keyPath = directory.appendingPathComponent("ca.key").path
        let certPath = directory.appendingPathComponent("ca.pem").path
        let made = try OpenSSL.run(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", keyPath, "-out", certPath,
                                    "-days", "30", "-subj", subject, "-addext", "keyUsage=\(keyUsage)",
                                    "-addext", "basicConstraints=critical,CA:TRUE"])
        precondition(made.status == 0, made.error)
        certDER = [UInt8](try OpenSSL.run(["x509", "-in", certPath, "-outform", "DER"]).output)
    }

    /// Issues a certificate for a fresh key; returns (certificate DER, key path).
    public func issue(subject: String, days: Int = 1, extensions: String? = nil) throws -> ([UInt8], String) {
        try issue(subject: subject, days: days, extensionList: extensions.map { [$0] } ?? [])
    }

    /// The same, with several extensions (`-addext` arguments), and optionally a key type for
    /// `openssl req -newkey` (`rsa:2048`, `ec -pkeyopt ec_paramgen_curve:P-256` is given as
    /// ["ec", "-pkeyopt", "ec_paramgen_curve:P-256"]).
    public func issue(subject: String, days: Int = 1, extensionList: [String], newkey: [String] = ["rsa:2048"],
                      pem: Bool = false) throws -> ([UInt8], String) {
        let base = directory.appendingPathComponent(UUID().uuidString).path
        var request = ["req", "-new", "-newkey"] + newkey + ["-nodes", "-keyout", base + ".key", "-out", base + ".csr", "-subj", subject]
        for item in extensionList { request += ["-addext", item] }
        let made = try OpenSSL.run(request)
        precondition(made.status == 0, made.error)
        let signed = try OpenSSL.run(["x509", "-req", "-in", base + ".csr", "-CA", certPath, "-CAkey", keyPath,
                                      "-CAcreateserial", "-days", "\(days)", "-outform", "DER", "-out", base + ".der",
                                      "-copy_extensions", "copy"])
        precondition(signed.status == 0, signed.error)
        return ([UInt8](try Data(contentsOf: URL(fileURLWithPath: base + ".der"))), base + ".key")
    }

    /// A CA standing on a certificate and key this CA issued (an intermediate, or a device key
    /// that was never meant to issue anything).
    public func subordinate(subject: String, extensionList: [String]) throws -> OpenSSLCA {
        let (der, key) = try issue(subject: subject, days: 2, extensionList: extensionList)
        return try OpenSSLCA(certificateDER: der, keyPath: key)
    }

    /// An issuer from an existing certificate and key.
    public init(certificateDER: [UInt8], keyPath: String) throws {
        directory = try scratchDirectory("ca")
        let certPath = directory.appendingPathComponent("ca.pem").path
        try OpenSSL.run(["x509", "-inform", "DER", "-out", certPath], input: Data(certificateDER))
        try FileManager.default.copyItem(atPath: keyPath, toPath: directory.appendingPathComponent("ca.key").path)
        certDER = certificateDER
    }
}

extension Data {
    public var bytes: [UInt8] { [UInt8](self) }
}

public func write(_ bytes: [UInt8], to url: URL) throws {
    try Data(bytes).write(to: url)
}
