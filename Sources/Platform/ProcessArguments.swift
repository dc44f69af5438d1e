import CLibc

/// The command line this process was started with, argv[0] included.
///
/// Embedded Swift has no `CommandLine`; the C shim captures argv before main where the C library
/// allows it (glibc), and /proc/self/cmdline serves elsewhere (musl).
public func processArguments() -> [String] {
    let count = Int(scep_argc())
    if count > 0, let argv = scep_argv() {
        var arguments: [String] = []
        arguments.reserveCapacity(count)
        for index in 0..<count {
            if let argument = argv[index] { arguments.append(String(cString: argument)) }
        }
        return arguments
    }
    guard let bytes = try? readFile("/proc/self/cmdline", limit: 1 << 20) else { return [] }
    return bytes.split(separator: 0, omittingEmptySubsequences: false).dropLast().map {
        String(decoding: $0, as: UTF8.self)
    }
}

/// The value of an environment variable, or nil when unset.
public func environmentValue(_ name: String) -> String? {
    guard let value = getenv(name) else { return nil }
    return String(cString: value)
}

/// Ends the process now with `status`. Output written through `StandardStream` is unbuffered.
public func exitProcess(_ status: Int32) -> Never {
    exit(status)
}
