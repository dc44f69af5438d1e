import Testing
@testable import Platform

@Suite struct LoggerFormatTests {
    @Test func plainValuesStayBareAndOthersAreQuoted() {
        let line = Logger.format(.info, "enrolled", [("serial", "01ab"), ("subject", "CN=dev 1,O=Acme")])
        #expect(line == "level=info event=enrolled serial=01ab subject=\"CN=dev 1,O=Acme\"")
    }

    @Test func controlCharactersCannotSplitALine() {
        let line = Logger.format(.warn, "server said", [("text", "bad\nlevel=error fake")])
        #expect(!line.contains("\n"))
        #expect(line.contains("\\n"))
    }

    @Test func levelsAreOrdered() {
        #expect(LogLevel.error < LogLevel.warn && LogLevel.warn < LogLevel.info && LogLevel.info < LogLevel.debug)
        #expect(LogLevel(name: "WARNING") == .warn)
        #expect(LogLevel(name: "verbose") == nil)
    }
}

@Suite struct FileSystemTests {
    func scratchDirectory() throws -> String {
        let path = "/tmp/scep-agent-test-\(monotonicNanoseconds())"
        try makeDirectory(path, permissions: 0o700)
        return path
    }

    @Test func atomicWriteCreatesFileWithExactModeAndContent() throws {
        let directory = try scratchDirectory()
        let path = directory + "/file"
        try writeFileAtomically(path, [1, 2, 3], permissions: 0o600)
        try writeFileAtomically(path, [4, 5], permissions: 0o640)
        #expect(try readFile(path, limit: 10) == [4, 5])
        let status = try fileStatus(path)
        #expect(status.kind == .regular)
        #expect(status.permissions == 0o640)
        try removeFile(path)
        #expect(!fileExists(path))
    }

    @Test func readRefusesOversizedFilesAndSymlinksWhenAsked() throws {
        let directory = try scratchDirectory()
        let path = directory + "/big"
        try writeFileAtomically(path, [UInt8](repeating: 7, count: 100), permissions: 0o600)
        #expect(throws: SystemError.self) { try readFile(path, limit: 99) }
        #expect(try readFile(path, limit: 100).count == 100)
    }

    @Test func missingFileIsReportedAsNotFound() {
        do {
            _ = try readFile("/nonexistent/scep-agent", limit: 10)
            Issue.record("expected an error")
        } catch {
            #expect(error.isNotFound)
            #expect(error.description.contains("/nonexistent/scep-agent"))
        }
    }

    @Test func parentDirectoryOfPaths() {
        #expect(parentDirectory(of: "a/b") == "a")
        #expect(parentDirectory(of: "b") == ".")
        #expect(parentDirectory(of: "/b") == "/")
        #expect(parentDirectory(of: "/var/lib/x/key.pem") == "/var/lib/x")
    }
}
