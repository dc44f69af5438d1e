import CLibc
import Encoding

/// The process that runs hooks: forked when the agent starts, before it reads the challenge or
/// opens the keystore, so no hook can inherit key material, however the hook is started.
///
/// The command is fixed when the helper is forked, from the configuration as read at start: the
/// key process only says *when* to run it and with which `SCEP_AGENT_*` values. A key process
/// taken over (it confines itself with a seccomp filter the helper is free of) therefore cannot
/// have the helper run a command, a shell, or a `LD_PRELOAD` of its choosing.
///
/// Messages (`Channel` framing): a request is each `NAME=value`, separated by NUL bytes; an
/// answer is `x` and the exit status, `s` and the signal, or `-` (not started, timed out or
/// stopped). A `stop` message (a single `!`) ends the running hook's process group.
public final class HookHelper {
    let channel: Channel
    let child: ChildProcess
    /// The command the helper runs, as fixed at its fork.
    public let command: String
    /// What a hook's environment holds besides the `SCEP_AGENT_*` values it is sent.
    static let path = ("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")

    init(channel: Channel, child: ChildProcess, command: String) {
        self.channel = channel
        self.child = child
        self.command = command
    }

    deinit { child.kill(); child.wait() }

    /// Forks the helper for `command`. Call it before any secret is loaded.
    public static func start(command: String, timeoutMilliseconds: Int64) throws(SystemError) -> HookHelper {
        let (mine, theirs) = try Channel.pair()
        let parent = getpid()
        let child = try ChildProcess.fork {
            mine.closeNow()
            // What the agent was started with, SCEP_CHALLENGE included, is this copy's to wipe.
            takeEnvironmentSecret("SCEP_CHALLENGE").map { bytes in var bytes = bytes; explicit_bzero(&bytes, bytes.count) }
            _ = scep_sandbox_die_with_parent(parent)
            HookHelper.serve(theirs, command: command, timeoutMilliseconds: timeoutMilliseconds)
            return 0
        }
        return HookHelper(channel: mine, child: child, command: command)
    }

    /// Runs the command in the helper with `environment` (only its `SCEP_AGENT_*` names reach the
    /// hook); `shouldStop` is asked while it runs (SIGTERM to the agent). Returns how it ended, or
    /// nil when it could not start, timed out or was stopped.
    public func run(environment: [(String, String)], shouldStop: () -> Bool) -> ChildExit? {
        var request: [UInt8] = []
        for (index, (name, value)) in environment.enumerated() {
            if index > 0 { request.append(0) }
            request += Array((name + "=" + value).utf8)
        }
        // An empty request would read as no request at all.
        if request.isEmpty { request = Array("SCEP_AGENT_EVENT=".utf8) }
        guard (try? channel.send(request)) != nil else { return nil }
        var stopped = false
        while true {
            if !stopped && shouldStop() {
                stopped = true
                try? channel.send([UInt8(ascii: "!")])
            }
            guard channel.isReadable(within: 200) else { continue }
            guard let answer = try? channel.receive(limit: 64), let kind = answer.first else { return nil }
            let number = Int32(Numbers.parse(answer.dropFirst(), limit: 255) ?? 255)
            switch kind {
            case UInt8(ascii: "x"): return .exited(number)
            case UInt8(ascii: "s"): return .signaled(number)
            default: return nil
            }
        }
    }

    /// The helper's loop: one request at a time, until the agent closes the channel.
    static func serve(_ channel: Channel, command: String, timeoutMilliseconds: Int64) {
        while let request = try? channel.receive(limit: 1 << 20) {
            guard request != [UInt8(ascii: "!")] else { continue }
            let environment = hookEnvironment(request)
            // A stop message, or the agent gone, ends the hook's group.
            let exit = runCommandInOwnGroup(command, environment: environment,
                                            timeoutMilliseconds: timeoutMilliseconds,
                                            shouldStop: { channel.isReadable(within: 0) })
            if channel.isReadable(within: 0), let stop = try? channel.receive(limit: 64), stop != [UInt8(ascii: "!")] {
                return
            }
            let answer: String = switch exit {
            case .exited(let status)?: "x\(status)"
            case .signaled(let signal)?: "s\(signal)"
            case nil: "-"
            }
            guard (try? channel.send(Array(answer.utf8))) != nil else { return }
        }
    }

    /// A request's `NAME=value` fields, the `SCEP_AGENT_*` ones only, and PATH as the helper sets
    /// it: nothing the key process sends can reach the hook's loader or shell (`LD_PRELOAD`,
    /// `ENV`, `BASH_ENV`, `IFS`, ...).
    static func hookEnvironment(_ request: [UInt8]) -> [(String, String)] {
        var environment = [path]
        let prefix = Array("SCEP_AGENT_".utf8)
        for field in request.split(separator: 0) {
            guard field.starts(with: prefix), let equals = field.firstIndex(of: UInt8(ascii: "=")) else { continue }
            environment.append((String(decoding: field[field.startIndex..<equals], as: UTF8.self),
                                String(decoding: field[(equals + 1)...], as: UTF8.self)))
        }
        return environment
    }
}
