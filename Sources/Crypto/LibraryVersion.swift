import CMbedTLS

/// The version of the mbedTLS linked in, e.g. "2.28.3", for `--version` and bug reports.
public func cryptoLibraryVersion() -> String {
    var buffer = [CChar](repeating: 0, count: 32)
    buffer.withUnsafeMutableBufferPointer { mbedtls_version_get_string($0.baseAddress) }
    return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
}
