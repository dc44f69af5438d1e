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

    public func hash<Bytes: Collection>(_ bytes: Bytes) -> [UInt8] where Bytes.Element == UInt8 {
        var output = [UInt8](repeating: 0, count: outputSize)
        let contiguous = Array(bytes)
        let info = mbedtls_md_info_from_type(mbedtlsType)
        let result = contiguous.withUnsafeBufferPointer { input in
            output.withUnsafeMutableBufferPointer { out in
                mbedtls_md(info, input.baseAddress, input.count, out.baseAddress)
            }
        }
        // mbedtls_md fails only for a missing algorithm, which our build always has.
        precondition(result == 0, "digest unavailable in this mbedTLS build")
        return output
    }
}
