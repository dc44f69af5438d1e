import CMbedTLS

/// Bytes that must not outlive their use: private keys, challenge passwords, content keys.
///
/// The buffer is zeroed when the last reference goes (with mbedTLS's zeroize, which the compiler
/// may not optimise away), it has no description that reveals it, and copying the bytes out is
/// explicit (`withBytes`).
public final class SecretBytes {
    private var storage: [UInt8]

    public init(_ bytes: [UInt8]) { storage = bytes }

    public init(count: Int) { storage = [UInt8](repeating: 0, count: count) }

    deinit { wipe() }

    public var count: Int { storage.count }

    /// Lends the bytes to `body` without copying them.
    public func withBytes<Value, Failure: Error>(
        _ body: (UnsafeBufferPointer<UInt8>) throws(Failure) -> Value
    ) throws(Failure) -> Value {
        try storage.withUnsafeBufferPointer { (buffer) throws(Failure) in try body(buffer) }
    }

    /// Lends the bytes for writing, in place: for assembling a secret without a copy.
    public func withMutableBytes<Result, Failure: Error>(
        _ body: (UnsafeMutableBufferPointer<UInt8>) throws(Failure) -> Result
    ) throws(Failure) -> Result {
        try storage.withUnsafeMutableBufferPointer { (buffer) throws(Failure) in try body(buffer) }
    }

    /// Zeroes the bytes now. Safe to call more than once.
    public func wipe() {
        storage.withUnsafeMutableBytes { buffer in
            if let base = buffer.baseAddress { mbedtls_platform_zeroize(base, buffer.count) }
        }
    }

    /// Drops a trailing newline (and CR) in place, as challenge files usually end with one.
    public func trimTrailingNewlines() {
        var end = storage.count
        while end > 0 && (storage[end - 1] == 0x0a || storage[end - 1] == 0x0d) { end -= 1 }
        guard end < storage.count else { return }
        let trimmed = SecretBytes(Array(storage[0..<end]))
        swap(&storage, &trimmed.storage)
        // `trimmed` now holds the old buffer and wipes it as it goes.
    }

    /// Equality in time independent of where the first difference is.
    public func constantTimeEquals(_ other: [UInt8]) -> Bool {
        guard other.count == storage.count else { return false }
        var difference: UInt8 = 0
        for index in 0..<storage.count { difference |= storage[index] ^ other[index] }
        return difference == 0
    }
}
