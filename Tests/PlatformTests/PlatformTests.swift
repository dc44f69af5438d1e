import Foundation
import Glibc
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

@Suite struct StopwatchTests {
    @Test func millisecondsHaveOneRoundedDecimal() {
        #expect(Stopwatch.milliseconds(0) == "0.0")
        #expect(Stopwatch.milliseconds(49_999) == "0.0")
        #expect(Stopwatch.milliseconds(50_000) == "0.1")
        #expect(Stopwatch.milliseconds(27_649_999) == "27.6")
        #expect(Stopwatch.milliseconds(27_650_000) == "27.7")
        #expect(Stopwatch.milliseconds(1_000_000_000) == "1000.0")
    }

    @Test func measuresTimePassing() {
        let watch = Stopwatch()
        sleepMilliseconds(20)
        #expect(watch.elapsedNanoseconds >= 20_000_000)
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

    /// A writer killed between create and rename leaves `<name>.tmp-PID`, perhaps holding a key:
    /// the next write of that name removes it, also when the PID is ours again (as after a
    /// reboot), and only it (another live writer's file, another name's leftover and names that
    /// only look alike stay).
    @Test func atomicWriteRemovesLeftoversOfDeadWriters() throws {
        let directory = try scratchDirectory()
        let exited = Process()
        exited.executableURL = URL(fileURLWithPath: "/bin/true")
        try exited.run()
        exited.waitUntilExit()
        let dead = exited.processIdentifier
        let stale = ["key.pem.tmp-\(dead)", "key.pem.tmp-\(getpid())"]
        let kept = ["key.pem.tmp-1", "key.pem.tmp-12x", "cert.pem.tmp-\(dead)", "key.pem.tmp-99999999999"]
        for name in stale + kept { try writeFileAtomically(directory + "/" + name, [0x6b], permissions: 0o600) }
        try writeFileAtomically(directory + "/key.pem", [1], permissions: 0o600)
        #expect(try readFile(directory + "/key.pem", limit: 10) == [1])
        let remaining = Set(try FileManager.default.contentsOfDirectory(atPath: directory))
        #expect(remaining == Set(kept).union(["key.pem"]))
    }

    @Test func readRefusesOversizedFiles() throws {
        let directory = try scratchDirectory()
        let path = directory + "/big"
        try writeFileAtomically(path, [UInt8](repeating: 7, count: 100), permissions: 0o600)
        #expect(try readFile(path, limit: 100).count == 100)
        do {
            _ = try readFile(path, limit: 99)
            Issue.record("a 100-byte file was read under a 99-byte limit")
        } catch {
            #expect(error.description == "read \(path): larger than the 99-byte limit")
        }
    }

    /// A device, FIFO or directory given where a file belongs (`--config /dev/null`, a challenge
    /// "file" that is a pipe) is refused before anything is read, in words that say why.
    @Test func onlyRegularFilesAreRead() throws {
        let directory = try scratchDirectory()
        for path in ["/dev/null", directory] {
            do {
                _ = try readFile(path, limit: 100)
                Issue.record("\(path) was read")
            } catch {
                #expect(error.description == "read \(path): not a regular file")
            }
        }
    }

    @Test func unsyncedFilesAreCreatedExclusivelyWithExactModeAndLandWhenSynced() throws {
        let path = try scratchDirectory()
        let directory = try Directory(path)
        let previousMask = umask(0o077)
        defer { umask(previousMask) }
        let first = try directory.createUnsynced("a", [1, 2, 3], permissions: 0o640)
        let second = try directory.createTemporary(replacing: "b", [4], permissions: 0o600)
        #expect(second.name.hasPrefix(".tmp-b-"))
        try directory.sync([first, second])
        #expect(try directory.read("a", limit: 10) == [1, 2, 3])
        #expect(try directory.status(of: "a")?.permissions == 0o640, "the umask must not narrow the mode asked for")
        try directory.rename(second.name, to: "b")
        #expect(try directory.read("b", limit: 10) == [4])

        // An existing name, or a symlink planted where the file should go, is refused.
        #expect(throws: SystemError.self) { _ = try directory.createUnsynced("a", [9], permissions: 0o600) }
        #expect(try directory.read("a", limit: 10) == [1, 2, 3])
        #expect(symlink(path + "/a", path + "/link") == 0)
        #expect(throws: SystemError.self) { _ = try directory.createUnsynced("link", [9], permissions: 0o600) }
        #expect(try directory.read("a", limit: 10) == [1, 2, 3])
    }

    /// The lock file names its holder and nothing else, even over a longer number left by an
    /// earlier holder (it is rewritten in place, then cut to length).
    @Test func theLockFileHoldsExactlyTheHoldersProcessID() throws {
        let path = try scratchDirectory()
        let directory = try Directory(path)
        try writeFileAtomically(path + "/lock", Array("4194304999\n".utf8), permissions: 0o600)
        let lock = try #require(try directory.lock("lock", timeoutMilliseconds: 0))
        #expect(try directory.read("lock", limit: 64) == Array("\(getpid())\n".utf8))
        lock.release()
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

@Suite struct SyslogSocketTests {
    @Test func datagramIsBSDSyslogWithoutControlCharacters() {
        let bytes = SyslogSocket.datagram(priority: 3 << 3 | 4, tag: "scep-agent", processID: 42, "level=warn a\nb")
        #expect(String(decoding: bytes, as: UTF8.self) == "<28>scep-agent[42]: level=warn a b")
    }

    /// A stand-in syslog daemon: a datagram socket bound to a path, as /dev/log is.
    private func listen(_ path: String) -> Int32 {
        unlink(path)
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (index, byte) in path.utf8.enumerated() { raw[index] = byte }
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        #expect(bound == 0)
        return fd
    }

    private func receive(_ fd: Int32) -> String {
        var buffer = [UInt8](repeating: 0, count: 512)
        let count = recv(fd, &buffer, buffer.count, Int32(MSG_DONTWAIT))
        return count > 0 ? String(decoding: buffer[..<count], as: UTF8.self) : ""
    }

    /// A socket whose first line found no daemon at `path` (the caller removes `path`).
    private func unheardSocket(_ path: String, retryMilliseconds: Int64) -> SyslogSocket {
        unlink(path)
        let syslog = SyslogSocket(path: path, retryMilliseconds: retryMilliseconds)
        #expect(!syslog.send(priority: 30, tag: "t", "nobody listens"))
        return syslog
    }

    @Test func sendsToTheDaemonSocketAndReconnectsAfterARestart() throws {
        let path = "/tmp/scep-agent-syslog-\(getpid())"
        defer { unlink(path) }
        let syslog = unheardSocket(path, retryMilliseconds: 0)

        var daemon = listen(path)
        #expect(syslog.send(priority: 30, tag: "t", "first"))
        #expect(receive(daemon) == "<30>t[\(getpid())]: first")

        close(daemon)                   // the daemon restarts: a new socket at the same path
        daemon = listen(path)
        defer { close(daemon) }
        #expect(syslog.send(priority: 30, tag: "t", "second"))
        #expect(receive(daemon) == "<30>t[\(getpid())]: second")
    }

    /// Without a daemon the socket is not retried line by line: a daemon that appears is only
    /// used once the retry interval has passed.
    @Test func aMissingDaemonIsRetriedOnlyAfterTheInterval() throws {
        let path = "/tmp/scep-agent-syslog-retry-\(getpid())"
        defer { unlink(path) }
        let syslog = unheardSocket(path, retryMilliseconds: 1500)

        let daemon = listen(path)
        defer { close(daemon) }
        #expect(!syslog.send(priority: 30, tag: "t", "still within the interval"))
        #expect(receive(daemon) == "")
        sleepMilliseconds(1600)
        #expect(syslog.send(priority: 30, tag: "t", "after it"))
        #expect(receive(daemon) == "<30>t[\(getpid())]: after it")
    }
}

@Suite struct AccountFilesTests {
    @Test func namesAndNumbersResolve() throws {
        let path = "/tmp/scep-agent-passwd-\(getpid())"
        let text = "root:x:0:0:root:/root:/bin/sh\n# comment\nscep:x:998:997::/var/lib/scep-agent:/usr/sbin/nologin\nbroken:x\nodd:x:notanumber:1::/:\n"
        #expect(FileManager.default.createFile(atPath: path, contents: Data(text.utf8)))
        defer { unlink(path) }
        #expect(accountID(named: "scep", in: path) == 998)
        #expect(accountID(named: "root", in: path) == 0)
        #expect(accountID(named: "1234", in: path) == 1234)
        #expect(accountID(named: "sce", in: path) == nil)
        #expect(accountID(named: "broken", in: path) == nil)
        #expect(accountID(named: "odd", in: path) == nil)
        #expect(accountID(named: "a:b", in: path) == nil)
        #expect(accountID(named: "scep", in: path + ".missing") == nil)
        #expect(userID(named: "root") == 0)
    }
}

@Suite struct HookHelperTests {
    let hook = HookHelper.Hook(command: "/usr/local/sbin/on-new-certificate", keystore: "/var/lib/scep-agent",
                               published: [("SCEP_AGENT_CERT_OUT", "/etc/scep-agent/published/cert.pem")])

    func environment(_ fields: [String]) -> [(String, String)] {
        HookHelper.hookEnvironment(Array(fields.joined(separator: "\0").utf8), hook: hook)
    }

    /// What the key process sends reaches the hook only as the announced values: a loader or
    /// shell variable, another PATH, keystore or published path is dropped, and the helper's own
    /// stand instead.
    @Test func onlyTheAnnouncedValuesReachTheHook() {
        let env = environment(["SCEP_AGENT_EVENT=certificate-committed", "LD_PRELOAD=/tmp/evil.so", "PATH=/tmp",
                               "BASH_ENV=/tmp/x", "SCEP_AGENT_KEYSTORE=/etc", "SCEP_AGENT_CERT_OUT=/etc/shadow",
                               "SCEP_AGENT_SERIAL=01ab", "SCEP_AGENT_NOVALUE"])
        #expect(env.map { $0.0 } == ["PATH", "SCEP_AGENT_KEYSTORE", "SCEP_AGENT_CERT_OUT", "SCEP_AGENT_EVENT", "SCEP_AGENT_SERIAL"])
        #expect(env[0].1 == "/usr/sbin:/usr/bin:/sbin:/bin")
        #expect(env[1].1 == "/var/lib/scep-agent")
        #expect(env[2].1 == "/etc/scep-agent/published/cert.pem")
    }

    /// SCEP_AGENT_CERT and SCEP_AGENT_CHAIN pass only as a generation's own file in the keystore.
    @Test func certificatePathsMustNameAGenerationFile() {
        let keystore = "/var/lib/scep-agent"
        for (path, accepted) in [(keystore + "/g000007/cert.pem", true), (keystore + "/../cert.pem", false),
                                 (keystore + "/./cert.pem", false), (keystore + "/g1/../../etc/cert.pem", false),
                                 ("/etc/shadow", false), (keystore + "/cert.pem", false), (keystore + "/g1/chain.pem", false),
                                 (keystore + "x/g1/cert.pem", false)] {
            let env = environment(["SCEP_AGENT_CERT=" + path])
            #expect(env.contains { $0.0 == "SCEP_AGENT_CERT" } == accepted, "\(path)")
        }
        #expect(environment(["SCEP_AGENT_CHAIN=" + keystore + "/g2/chain.pem"]).contains { $0 == ("SCEP_AGENT_CHAIN", keystore + "/g2/chain.pem") })
    }
}

/// IPAddress formats its own text (musl's inet_ntop would bring printf into the static binary);
/// glibc's inet_ntop is the independent implementation it is checked against.
@Suite struct IPAddressTextTests {
    static func libcText(_ bytes: [UInt8]) -> String {
        var text = [CChar](repeating: 0, count: 64)
        _ = bytes.withUnsafeBytes { inet_ntop(bytes.count == 16 ? AF_INET6 : AF_INET, $0.baseAddress, &text, socklen_t(text.count)) }
        return String(cString: text)
    }

    @Test func namedCasesMatchRFC5952() {
        let cases: [(String, String)] = [
            ("192.0.2.1", "192.0.2.1"), ("0.0.0.0", "0.0.0.0"), ("255.255.255.255", "255.255.255.255"),
            ("::", "::"), ("::1", "::1"), ("2001:DB8:0:0:0:0:0:1", "2001:db8::1"),
            ("2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"), // one zero group is not shortened
            ("2001:0:0:1:0:0:0:1", "2001:0:0:1::1"),           // the longest run
            ("2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"),     // the first of equal runs
            ("fe80::", "fe80::"), ("::ffff:192.0.2.1", "::ffff:192.0.2.1"),
        ]
        for (input, expected) in cases {
            #expect(IPAddress(input)?.description == expected, "\(input)")
            #expect(Self.libcText(IPAddress(input)!.bytes) == expected, "glibc agrees on \(input)")
        }
    }

    /// Every pattern of zero and non-zero groups (256), with values that have leading zeros to drop.
    @Test func everyZeroPatternMatchesGlibc() {
        for pattern in 0..<256 {
            var bytes = [UInt8](repeating: 0, count: 16)
            for group in 0..<8 where pattern & (1 << group) != 0 {
                bytes[2 * group] = UInt8(group % 3 == 0 ? 0 : 0xa0 + group)
                bytes[2 * group + 1] = UInt8(0x01 + group * 17)
            }
            // glibc writes IPv4-compatible addresses (::a.b.c.d, deprecated by RFC 4291) dotted;
            // we, like musl, do not.
            if bytes[0..<12].allSatisfy({ $0 == 0 }) && (bytes[12] != 0 || bytes[13] != 0) { continue }
            #expect(IPAddress(bytes: bytes)!.description == Self.libcText(bytes))
        }
        for last in [0, 1, 99, 100, 199, 200, 255] {
            let v4: [UInt8] = [UInt8(last), 10, 0, UInt8(255 - last)]
            #expect(IPAddress(bytes: v4)!.description == Self.libcText(v4))
            let mapped = [UInt8](repeating: 0, count: 10) + [0xff, 0xff] + v4
            #expect(IPAddress(bytes: mapped)!.description == Self.libcText(mapped))
        }
    }
}
