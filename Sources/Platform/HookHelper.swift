import CLibc
import Encoding

/// The process that runs hooks: forked when the agent starts, before it reads the challenge or
/// opens the keystore, so no hook can inherit key material, however the hook is started. The key
/// process asks it over a socketpair to run one command with one environment; it answers with
/// how the command ended.
///
/// Messages (`Channel` framing): a request is the command, then each `NAME=value`, separated by
/// NUL bytes; an answer is `x` and the exit status, `s` and the signal, or `-` (not started,
/// timed out or stopped). A `stop` message (a single `!`) ends the running hook's process group.
public final class HookHelper {
    let channel: Channel
    let child: ChildProcess

    init(channel: Channel, child: ChildProcess) {
        self.channel = channel
        self.child = child
    }

    deinit { child.kill(); child.wait() }

    /// Forks the helper. Call it before any secret is loaded.
    public static func start(timeoutMilliseconds: Int64) throws(SystemError) -> HookHelper {
        let (mine, theirs) = try Channel.pair()
        let parent = getpid()
        let child = try ChildProcess.fork {
            mine.closeNow()
            // What the agent was started with, SCEP_CHALLENGE included, is this copy's to wipe.
            takeEnvironmentSecret("SCEP_CHALLENGE").map { bytes in var bytes = bytes; explicit_bzero(&bytes, bytes.count) }
            _ = scep_sandbox_die_with_parent(parent)
            HookHelper.serve(theirs, timeoutMilliseconds: timeoutMilliseconds)
            return 0
        }
        return HookHelper(channel: mine, child: child)
    }

    /// Runs `command` in the helper; `shouldStop` is asked while it runs (SIGTERM to the agent).
    /// Returns how it ended, or nil when it could not start, timed out or was stopped.
    public func run(_ command: String, environment: [(String, String)], shouldStop: () -> Bool) -> ChildExit? {
        var request = Array(command.utf8)
        for (name, value) in environment {
            request.append(0)
            request += Array((name + "=" + value).utf8)
        }
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
    static func serve(_ channel: Channel, timeoutMilliseconds: Int64) {
        while let request = try? channel.receive(limit: 1 << 20) {
            let fields = request.split(separator: 0, omittingEmptySubsequences: false)
            guard let command = fields.first, !command.isEmpty else { continue }
            var environment: [(String, String)] = []
            for field in fields.dropFirst() {
                guard let equals = field.firstIndex(of: UInt8(ascii: "=")) else { continue }
                environment.append((String(decoding: field[field.startIndex..<equals], as: UTF8.self),
                                    String(decoding: field[(equals + 1)...], as: UTF8.self)))
            }
            // A stop message, or the agent gone, ends the hook's group.
            let exit = runCommandInOwnGroup(String(decoding: command, as: UTF8.self), environment: environment,
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
}
