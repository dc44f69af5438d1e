import CMbedTLS

/// The message digests SCEP uses. SHA-1 appears only to verify replies from servers that sign
/// with it (micromdm); requests always use SHA-256 or stronger.
public enum DigestAlgorithm: Equatable, Sendable {
    case sha1, sha256, sha384, sha512

    public var outputSize: Int {
        switch self {
        case .sha1: 20
        case .sha256: 32
        case .sha384: 48
        case .sha512: 64
        }
    }

    public var name: String {
        switch self {
        case .sha1: "SHA-1"
        case .sha256: "SHA-256"
        case .sha384: "SHA-384"
        case .sha512: "SHA-512"
        }
    }

    public var isWeak: Bool { self == .sha1 }

    var mbedtlsType: mbedtls_md_type_t {
        switch self {
        case .sha1: MBEDTLS_MD_SHA1
        case .sha256: MBEDTLS_MD_SHA256
        case .sha384: MBEDTLS_MD_SHA384
        case .sha512: MBEDTLS_MD_SHA512
        }
    }

    /// The digest of `bytes`, hashed where they lie when they are contiguous (no copy).
    public func hash<Bytes: Collection>(_ bytes: Bytes) -> [UInt8] where Bytes.Element == UInt8 {
        if let digest = bytes.withContiguousStorageIfAvailable({ hash(buffer: $0) }) { return digest }
        var copy = Array(bytes)
        defer { for index in copy.indices { copy[index] = 0 } }
        return copy.withUnsafeBufferPointer { hash(buffer: $0) }
    }

    /// The digest of a secret; the digest is secret too.
    public func hash(_ secret: SecretBytes) -> SecretBytes {
        SecretBytes(secret.withBytes { hash(buffer: $0) })
    }

    func hash(buffer: UnsafeBufferPointer<UInt8>) -> [UInt8] {
        var output = [UInt8](repeating: 0, count: outputSize)
        let result = output.withUnsafeMutableBufferPointer { out in
            mbedtls_md(mbedtls_md_info_from_type(mbedtlsType), buffer.baseAddress, buffer.count, out.baseAddress)
        }
        // mbedtls_md fails only for a missing algorithm, which our build always has.
        precondition(result == 0, "digest unavailable in this mbedTLS build")
        return output
    }
}

/// A digest computed over several parts, some of them secret, without joining them in a buffer
/// (a joined copy of a secret would outlive its use in freed memory).
public final class IncrementalDigest {
    private let context: UnsafeMutablePointer<mbedtls_md_context_t>
    public let algorithm: DigestAlgorithm

    public init(_ algorithm: DigestAlgorithm) {
        self.algorithm = algorithm
        context = .allocate(capacity: 1)
        mbedtls_md_init(context)
        let setup = mbedtls_md_setup(context, mbedtls_md_info_from_type(algorithm.mbedtlsType), 0)
        precondition(setup == 0 && mbedtls_md_starts(context) == 0, "digest unavailable in this mbedTLS build")
    }

    deinit {
        mbedtls_md_free(context)
        context.deallocate()
    }

    public func update(_ bytes: [UInt8]) {
        _ = bytes.withUnsafeBufferPointer { mbedtls_md_update(context, $0.baseAddress, $0.count) }
    }

    public func update(_ secret: SecretBytes) {
        _ = secret.withBytes { mbedtls_md_update(context, $0.baseAddress, $0.count) }
    }

    /// The digest, secret because its inputs were.
    public func finish() -> SecretBytes {
        let output = SecretBytes(count: algorithm.outputSize)
        _ = output.withMutableBytes { mbedtls_md_finish(context, $0.baseAddress) }
        return output
    }
}
