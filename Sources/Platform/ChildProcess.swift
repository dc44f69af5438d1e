import CLibc

/// How a child process ended.
public enum ChildExit: Equatable, Sendable {
    case exited(Int32)
    case signaled(Int32)

    /// SIGSYS: the seccomp filter refused a system call.
    public var isSandboxKill: Bool { self == .signaled(SIGSYS) }

    /// The network process's status when the kernel refused a sandbox step it offers.
    public static let sandboxRefused = ChildExit.exited(71)
}

/// A child process the agent started, waited for when it ends.
public final class ChildProcess {
    public let pid: Int32
    private var ended: ChildExit?

    init(pid: Int32) { self.pid = pid }

    /// A fresh image of this binary, started with `role` as its only argument and `channel` as
    /// descriptor 3, sharing nothing else with this process: no memory (it is a new exec), no
    /// other descriptor, and of the environment only LD_LIBRARY_PATH (a development build finds
    /// the Swift runtime through it; the static binary needs nothing).
    public static func spawnSelf(role: String, channel: Channel) throws(SystemError) -> ChildProcess {
        // A crash in the sandbox must read as a crash: without this, the normal-mode runtime's
        // backtracer would install a handler (a forbidden call) and turn every SIGSEGV into SIGSYS.
        var environment = ["SWIFT_BACKTRACE=enable=no"]
        if let path = environmentValue("LD_LIBRARY_PATH") { environment.append("LD_LIBRARY_PATH=" + path) }
        // SCEP_AGENT_NETWORK_RUNNER: a test hook for emulated builds. Under qemu-user without
        // binfmt_misc, /proc/self/exe cannot be executed; the emulator named here runs this
        // binary instead. It must be an absolute path.
        // The runner must be a program only root or this user could have put there.
        var runner: String? = nil
        if let path = environmentValue("SCEP_AGENT_NETWORK_RUNNER"), !path.isEmpty {
            guard path.utf8.first == UInt8(ascii: "/"), let status = try? fileStatus(path, followSymlinks: true),
                  status.kind == .regular, status.owner == 0 || status.owner == UInt32(geteuid()), status.permissions & 0o022 == 0 else {
                throw SystemError("exec", path: path, code: EPERM, detail: .notPrivate)
            }
            runner = path
        }
        let pid = withCStrings(environment) { envp in
            guard let runner else { return scep_spawn_self(channel.descriptor, role, envp, nil, nil) }
            return scep_spawn_self(channel.descriptor, role, envp, runner, executablePath())
        }
        guard pid > 0 else { throw SystemError.last("fork") }
        return ChildProcess(pid: pid)
    }

    /// Forks this process: the child runs `body` and exits with what it returns. Only for a
    /// helper started before any secret is loaded (it shares this process's memory).
    public static func fork(_ body: () -> Int32) throws(SystemError) -> ChildProcess {
        let pid = CLibc.fork()
        guard pid >= 0 else { throw SystemError.last("fork") }
        if pid == 0 { exitProcess(body()) }
        return ChildProcess(pid: pid)
    }

    /// The exit, without waiting; nil while it runs.
    public func poll() -> ChildExit? {
        if let ended { return ended }
        var status: Int32 = 0
        guard scep_wait(pid, &status, 1) == pid else { return nil }
        ended = ChildProcess.exit(status)
        return ended
    }

    /// Waits for the exit.
    @discardableResult
    public func wait() -> ChildExit {
        if let ended { return ended }
        var status: Int32 = 0
        let result = scep_wait(pid, &status, 0)
        ended = result == pid ? ChildProcess.exit(status) : .exited(-1)
        return ended!
    }

    public func signal(_ number: Int32) {
        if ended == nil { CLibc.kill(pid, number) }
    }

    /// SIGKILL, for a child that must not go on.
    public func kill() { signal(SIGKILL) }

    static func exit(_ status: Int32) -> ChildExit {
        let signal = scep_wifsignaled_signal(status)
        return signal != 0 ? .signaled(signal) : .exited(scep_wexitstatus(status))
    }
}

/// Runs `command` with /bin/sh in a process group of its own, default signal dispositions,
/// standard input from /dev/null and exactly `environment`; waits up to `timeoutMilliseconds`,
/// then ends the whole group (SIGTERM, then SIGKILL two seconds later). `shouldStop` is asked
/// between checks: when it says so the group is ended at once. Returns the exit, or nil when it
/// could not start, timed out or was stopped.
public func runCommandInOwnGroup(_ command: String, environment: [(String, String)], timeoutMilliseconds: Int64,
                                 shouldStop: () -> Bool) -> ChildExit? {
    let strings = environment.map { $0.0 + "=" + $0.1 }
    let pid = withCStrings(strings) { envp in scep_spawn_hook(command, envp) }
    guard pid > 0 else { return nil }
    let child = ChildProcess(pid: pid)
    let deadline = monotonicMilliseconds() + timeoutMilliseconds
    while true {
        if let exit = child.poll() { return exit }
        if shouldStop() || monotonicMilliseconds() >= deadline {
            endGroup(pid, child)
            return nil
        }
        sleepMilliseconds(20)
    }
}

private func endGroup(_ group: Int32, _ child: ChildProcess) {
    kill(-group, SIGTERM)
    let grace = monotonicMilliseconds() + 2000
    while child.poll() == nil && monotonicMilliseconds() < grace { sleepMilliseconds(20) }
    kill(-group, SIGKILL)
    child.wait()
}

/// This binary's path, as /proc/self/exe names it.
func executablePath() -> String {
    var buffer = [CChar](repeating: 0, count: 4096)
    let length = readlink("/proc/self/exe", &buffer, buffer.count - 1)
    guard length > 0 else { return "/proc/self/exe" }
    return String(decoding: buffer[0..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
}

/// A NULL-terminated array of C strings for the duration of `body`.
func withCStrings<Result>(_ strings: [String], _ body: (UnsafePointer<UnsafeMutablePointer<CChar>?>) -> Result) -> Result {
    var pointers: [UnsafeMutablePointer<CChar>?] = strings.map { string in
        let bytes = Array(string.utf8)
        let buffer = UnsafeMutablePointer<CChar>.allocate(capacity: bytes.count + 1)
        for (offset, byte) in bytes.enumerated() { buffer[offset] = CChar(bitPattern: byte) }
        buffer[bytes.count] = 0
        return buffer
    }
    pointers.append(nil)
    defer { for pointer in pointers { pointer?.deallocate() } }
    return pointers.withUnsafeBufferPointer { body($0.baseAddress!) }
}
