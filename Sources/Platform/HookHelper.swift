import CLibc
import Encoding

/// The process that runs hooks: forked when the agent starts, before it reads the challenge or
/// opens the keystore, so no hook can inherit key material, however the hook is started.
///
/// The hook is fixed when the helper is forked, from the configuration as read at start: its
/// command, the keystore and the published copies' paths. The key process only says *when* to run
/// it and which new identity it announces (event, generation, subject, serial, not-after). A key
/// process taken over (it confines itself with a seccomp filter the helper is free of) therefore
/// cannot have the helper run a command, a shell or a `LD_PRELOAD` of its choosing, nor point the
/// hook at a file outside the keystore's generations.
///
/// Messages (`Channel` framing): a request is each `NAME=value`, separated by NUL bytes; an
/// answer is `x` and the exit status, `s` and the signal, or `-` (not started, timed out or
/// stopped). A `stop` message (a single `!`) ends the running hook's process group.
public final class HookHelper {
    /// What the helper is given at its fork and keeps.
    public struct Hook {
        public let command: String
        /// The keystore directory: the hook's SCEP_AGENT_KEYSTORE, and where SCEP_AGENT_CERT and
        /// SCEP_AGENT_CHAIN must lie.
        public let keystore: String
        /// SCEP_AGENT_CERT_OUT and the other published copies' paths, as configured.
        public let published: [(String, String)]

        public init(command: String, keystore: String, published: [(String, String)]) {
            self.command = command
            self.keystore = keystore
            self.published = published
        }
    }

    let channel: Channel
    let child: ChildProcess
    /// The hook the helper runs, as fixed at its fork.
    public let hook: Hook
    public var command: String { hook.command }
    static let path = ("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
    /// What the key process may tell a hook, as free text.
    static let announced = ["SCEP_AGENT_EVENT", "SCEP_AGENT_SUBJECT", "SCEP_AGENT_SERIAL", "SCEP_AGENT_NOT_AFTER"]

    init(channel: Channel, child: ChildProcess, hook: Hook) {
        self.channel = channel
        self.child = child
        self.hook = hook
    }

    deinit { child.kill(); child.wait() }

    /// Forks the helper for `hook`. Call it before any secret is loaded.
    public static func start(_ hook: Hook, timeoutMilliseconds: Int64) throws(SystemError) -> HookHelper {
        let (mine, theirs) = try Channel.pair()
        let parent = getpid()
        let child = try ChildProcess.fork {
            mine.closeNow()
            // What the agent was started with, SCEP_CHALLENGE included, is this copy's to wipe.
            // Wiped where it lies: a copy taken to be wiped is itself a copy (the array's
            // copy-on-write left the original buffer to be freed unwiped).
            wipeEnvironmentSecret("SCEP_CHALLENGE")
            _ = scep_sandbox_die_with_parent(parent)
            HookHelper.serve(theirs, hook: hook, timeoutMilliseconds: timeoutMilliseconds)
            return 0
        }
        return HookHelper(channel: mine, child: child, hook: hook)
    }

    /// Runs the hook in the helper, announcing `environment` (`hookEnvironment` says what of it
    /// reaches the hook); `shouldStop` is asked while it runs (SIGTERM to the agent). Returns how it ended, or
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
    static func serve(_ channel: Channel, hook: Hook, timeoutMilliseconds: Int64) {
        // A malformed or oversized message ends the helper: its framing can no longer be trusted.
        while let request = try? channel.receive(limit: 64 << 10) {
            guard request != [UInt8(ascii: "!")] else { continue }
            let environment = hookEnvironment(request, hook: hook)
            // A stop message, or the agent gone, ends the hook's group.
            let exit = runCommandInOwnGroup(hook.command, environment: environment,
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

    /// The hook's whole environment: PATH, the keystore and the published paths from the helper's
    /// own `hook`, and of the request's `NAME=value` fields only the announced ones and
    /// SCEP_AGENT_CERT and SCEP_AGENT_CHAIN when they name a generation's file in the keystore.
    /// Nothing else the key process sends reaches the hook (`LD_PRELOAD`, `ENV`, `BASH_ENV`, another
    /// PATH or keystore, a certificate path of its choosing).
    static func hookEnvironment(_ request: [UInt8], hook: Hook) -> [(String, String)] {
        var environment = [path, ("SCEP_AGENT_KEYSTORE", hook.keystore)] + hook.published
        for field in request.split(separator: 0) {
            guard let equals = field.firstIndex(of: UInt8(ascii: "=")) else { continue }
            let name = String(decoding: field[field.startIndex..<equals], as: UTF8.self)
            let value = String(decoding: field[(equals + 1)...], as: UTF8.self)
            switch name {
            case _ where announced.contains(name):
                environment.append((name, value))
            case "SCEP_AGENT_CERT" where isGenerationFile(value, "cert.pem", in: hook.keystore),
                 "SCEP_AGENT_CHAIN" where isGenerationFile(value, "chain.pem", in: hook.keystore):
                environment.append((name, value))
            default:
                continue
            }
        }
        return environment
    }

    /// `KEYSTORE/GENERATION/FILE`, GENERATION one path component that is neither `.` nor `..`.
    static func isGenerationFile(_ path: String, _ file: String, in keystore: String) -> Bool {
        let bytes = Array(path.utf8), prefix = Array((keystore + "/").utf8), suffix = Array(("/" + file).utf8)
        guard bytes.count > prefix.count + suffix.count, bytes.starts(with: prefix),
              Array(bytes.suffix(suffix.count)) == suffix else { return false }
        // (A request's fields are split at NUL bytes, so none is left here.)
        let generation = bytes[prefix.count..<(bytes.count - suffix.count)]
        return !generation.contains(UInt8(ascii: "/")) && !generation.elementsEqual(Array(".".utf8))
            && !generation.elementsEqual(Array("..".utf8))
    }
}
