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
            if let argument = argv[index] { arguments.append(stringFromC(argument)) }
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
    return stringFromC(value)
}

/// The raw bytes of an environment variable, then overwrites it where it lies and removes it
/// from the environment, so neither children nor /proc/PID/environ (which shows the original
/// environment's memory, whatever unsetenv does) ever show it: for secrets such as SCEP_CHALLENGE.
public func takeEnvironmentSecret(_ name: String) -> [UInt8]? {
    guard let value = getenv(name) else { return nil }
    let length = strlen(value)
    var bytes = [UInt8](repeating: 0, count: length)
    bytes.withUnsafeMutableBufferPointer { target in
        for index in 0..<length { target[index] = UInt8(bitPattern: value[index]) }
    }
    explicit_bzero(value, length)
    unsetenv(name)
    return bytes
}

/// Wipes the environment variable `name` in place and removes it, copying nothing: for a process
/// that must not keep a secret it inherited (the hook helper and SCEP_CHALLENGE).
public func wipeEnvironmentSecret(_ name: String) {
    guard let value = getenv(name) else { return }
    explicit_bzero(value, strlen(value))
    unsetenv(name)
}

/// Ends the process now with `status`. Output written through `StandardStream` is unbuffered.
public func exitProcess(_ status: Int32) -> Never {
    exit(status)
}

/// The effective user ID: who owns what the agent creates.
public func currentUserID() -> UInt32 { UInt32(geteuid()) }

/// A NUL-terminated C string as a Swift `String`, its bytes copied and decoded as UTF-8.
///
/// One routine for every string from C, so each is validated the same way. (It was first written
/// for a trap on aarch64 that turned out to lie elsewhere: Sources/CLibc/embedded_runtime.c.)
public func stringFromC(_ pointer: UnsafePointer<CChar>) -> String {
    let length = strlen(pointer)
    let bytes = UnsafeRawPointer(pointer).withMemoryRebound(to: UInt8.self, capacity: length) {
        Array(UnsafeBufferPointer(start: $0, count: length))
    }
    return String(decoding: bytes, as: UTF8.self)
}
