import CLibc

/// What the network process gives up before it reads a byte from the network.
///
/// Each step that the kernel lacks is reported, not fatal: a device's kernel may be old
/// (Landlock needs 5.13). A step that the kernel has but refuses is fatal: the process must
/// not go on with less protection than it was meant to have.
public enum Sandbox {
    public enum Step: Equatable, Sendable {
        case dropPrivileges, noNewPrivileges, notDumpable, landlock, seccomp

        /// As the log names it (Embedded Swift cannot print an enum case by reflection).
        public var name: String {
            switch self {
            case .dropPrivileges: "drop-privileges"
            case .noNewPrivileges: "no-new-privs"
            case .notDumpable: "not-dumpable"
            case .landlock: "landlock"
            case .seccomp: "seccomp"
            }
        }
    }

    public struct Report: Equatable, Sendable {
        /// Steps the kernel does not offer, each with the reason.
        public var unavailable: [(Step, String)] = []
        /// The Landlock ABI version in force, 0 when none.
        public var landlockABI: Int = 0

        public static func == (lhs: Report, rhs: Report) -> Bool {
            lhs.landlockABI == rhs.landlockABI && lhs.unavailable.map { $0.0 } == rhs.unavailable.map { $0.0 }
        }
    }

    /// Applies every step, in the order the kernel requires: the user switch while it is still
    /// allowed (as root, to `unprivileged`), then no_new_privs (Landlock and seccomp need it),
    /// non-dumpable, Landlock, and the seccomp filter last.
    public static func enterNetworkSandbox(unprivileged: (uid: UInt32, gid: UInt32)?) throws(SystemError) -> Report {
        var report = Report()
        scep_sandbox_prepare()
        let parent = getppid()
        var dropped = false
        if geteuid() == 0, let account = unprivileged {
            guard scep_sandbox_drop_privileges(account.uid, account.gid) == 0 else { throw SystemError.last("setresuid") }
            dropped = true
        }
        guard scep_sandbox_die_with_parent(parent) == 0 else { throw SystemError.last("prctl(PR_SET_PDEATHSIG)") }
        guard scep_sandbox_no_new_privs() == 0 else { throw SystemError.last("prctl(PR_SET_NO_NEW_PRIVS)") }
        guard scep_sandbox_not_dumpable() == 0 else { throw SystemError.last("prctl(PR_SET_DUMPABLE)") }
        let abi = scep_landlock_abi()
        if abi < 1 {
            report.unavailable.append((.landlock, stringFromC(strerror(scep_errno()))))
        } else {
            guard scep_landlock_deny_all_files(abi) == 0 else {
                throw SystemError.last("landlock (if a service manager filters system calls, allow seccomp and landlock_*)")
            }
            report.landlockABI = Int(abi)
        }
        if scep_seccomp_network_filter(getpid()) != 0 {
            let code = scep_errno()
            // EINVAL: a kernel built without seccomp filters.
            // EPERM: a service manager's own filter forbids seccomp(2) (systemd: SystemCallFilter=
            // without seccomp); the unit must allow it, the process does not go on unsandboxed.
            guard code == EINVAL || code == ENOSYS else {
                throw SystemError("seccomp (if a service manager filters system calls, allow seccomp and landlock_*)", code: code)
            }
            report.unavailable.append((.seccomp, stringFromC(strerror(code))))
        }
        // Still the agent's own user, with neither Landlock nor seccomp: nothing would keep this
        // process from opening the keystore. Refuse rather than run so.
        if !dropped && report.landlockABI == 0 && report.unavailable.contains(where: { $0.0 == .seccomp }) {
            throw SystemError("sandbox (no Landlock, no seccomp, and no other user to switch to)", code: ENOSYS)
        }
        return report
    }

    /// The key process's confinement, for the commands that hold keys while a network process
    /// talks to the server: no_new_privs, then the deny-list filter (sandbox.c), under which
    /// mounts, namespaces, modules, ptrace, BPF, keyrings and the clock fail with EPERM. Call it
    /// after the hook helper is forked (a hook may need what the agent does not) and before any
    /// secret is read.
    ///
    /// Not fatal, unlike the network process's sandbox: it is a second wall around a process
    /// whose job is to keep its identity in service. What the kernel lacks or refuses is
    /// returned with the reason, for the log.
    public static func confineKeyProcess() -> [(Step, String)] {
        var missing: [(Step, String)] = []
        guard scep_sandbox_no_new_privs() == 0 else {
            // Without it an unprivileged process may not install a filter either.
            let reason = stringFromC(strerror(scep_errno()))
            return [(.noNewPrivileges, reason), (.seccomp, reason)]
        }
        if scep_seccomp_key_process_filter() != 0 {
            missing.append((.seccomp, stringFromC(strerror(scep_errno()))))
        }
        return missing
    }

    /// No core dumps, and no ptrace or /proc access by other users: for every agent process,
    /// which may hold keys.
    public static func forbidCoreDumps() {
        _ = scep_forbid_core_dumps()
    }
}

#if SCEP_SANDBOX_PROBES
/// Test builds only (`-D SCEP_SANDBOX_PROBES`, `make sandbox-test`); the shipped binary has none
/// of this.
extension Sandbox {
    /// From inside the sandbox, attempts one thing the network process must never do: open a
    /// file (`open:PATH`; the test names the keystore), exec, ptrace its parent, create a unix
    /// socket, fork, map executable memory. The sandbox should kill the process (seccomp) or refuse (Landlock); what is
    /// returned says what happened when it did neither, and the test fails on it.
    public static func probe(_ name: String) -> String {
        let bytes = Array(name.utf8)
        if bytes.starts(with: Array("open:".utf8)) {
            let path = String(decoding: bytes.dropFirst(5), as: UTF8.self)
            let descriptor = scep_open(path, O_RDONLY | O_CLOEXEC, 0)
            if descriptor >= 0 {
                close(descriptor)
                return "opened \(path)"
            }
            return "open refused: \(stringFromC(strerror(scep_errno())))"
        }
        switch name {
        case "exec":
            let result = withCStrings(["/bin/true"]) { argv in
                withCStrings([]) { envp in execve("/bin/true", argv, envp) }
            }
            return "execve returned \(result)"
        case "ptrace":
            return "ptrace returned \(scep_probe_ptrace_parent())"
        case "unix-socket":
            let descriptor = socket(AF_UNIX, scep_sock_stream(), 0)
            if descriptor >= 0 { close(descriptor) }
            return "socket(AF_UNIX) returned \(descriptor)"
        case "fork":
            let pid = CLibc.fork()
            if pid == 0 { exitProcess(0) }
            return "fork returned \(pid)"
        case "mmap-exec":
            return "mmap(PROT_EXEC) returned \(scep_probe_mmap_exec())"
        default:
            return "unknown probe \(name)"
        }
    }

    /// From the key process, once confined: one call its filter refuses (`mount`, `unshare`,
    /// `kcmp`, `clone` or `clone3` with a namespace flag, `tiocsti` on /dev/null; each harmless
    /// where it succeeds). Says
    /// what the call returned.
    public static func keyProcessProbe(_ name: String) -> String {
        let which: Int32 = switch name {
        case "mount": 0
        case "unshare": 1
        case "kcmp": 2
        case "clone": 3
        case "clone3": 4
        case "tiocsti": 5
        default: -1
        }
        guard which >= 0 else { return "unknown probe \(name)" }
        if scep_probe_key_process(which) == 0 { return "\(name) succeeded" }
        return "\(name) failed: \(stringFromC(strerror(scep_errno())))"
    }

    /// The `crash` probe: SIGABRT, as a memory-safety trap in the parser would end the process.
    public static func crash() -> Never { abort() }
}
#endif
