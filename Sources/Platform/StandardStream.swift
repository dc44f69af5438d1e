import CLibc

/// Unbuffered writes to standard output and standard error.
///
/// Everything the agent prints goes through here, so output is complete even if the process is
/// killed right after, and no stdio buffer ever holds a secret.
public enum StandardStream {
    case output
    case error

    var descriptor: Int32 { self == .output ? STDOUT_FILENO : STDERR_FILENO }

    /// Writes `text`, retrying short writes and EINTR; gives up silently on a closed stream,
    /// because there is nowhere left to report that.
    public func write(_ text: String) {
        var copy = text
        copy.withUTF8 { buffer in writeAll(descriptor, buffer) }
    }

    public func writeLine(_ text: String) {
        write(text + "\n")
    }
}

func writeAll(_ descriptor: Int32, _ buffer: UnsafeBufferPointer<UInt8>) {
    guard var cursor = buffer.baseAddress else { return }
    var remaining = buffer.count
    while remaining > 0 {
        let written = CLibc.write(descriptor, cursor, remaining)
        if written < 0 {
            if scep_errno() == EINTR { continue }
            return
        }
        cursor += written
        remaining -= written
    }
}
