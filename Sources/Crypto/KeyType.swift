import CMbedTLS

/// The kinds of device key the agent makes: RSA of three sizes, or ECDSA on two NIST curves.
public enum KeyType: Equatable, Sendable {
    case rsa(bits: Int)
    case ec(EllipticCurve)

    public static let defaultType = KeyType.rsa(bits: 2048)
    public static let supported: [KeyType] = [.rsa(bits: 2048), .rsa(bits: 3072), .rsa(bits: 4096), .ec(.p256), .ec(.p384)]

    /// As `--key-type` spells it: `rsa:2048`, `ec:p256`.
    public var name: String {
        switch self {
        case .rsa(let bits): "rsa:\(bits)"
        case .ec(let curve): "ec:\(curve.name)"
        }
    }

    public init?(name: String) {
        for type in KeyType.supported where type.name == name {
            self = type
            return
        }
        return nil
    }

    public var isRSA: Bool { if case .rsa = self { true } else { false } }

    /// The digest that matches the key's strength in its own signatures (ECDSA P-384 with SHA-384).
    public var signatureDigest: DigestAlgorithm {
        if case .ec(.p384) = self { return .sha384 }
        return .sha256
    }
}

/// Where a device key lives: in the keystore as a file (held by mbedTLS in memory while in use),
/// or inside a TPM, which never lets it out.
public enum KeyStorage: Equatable, Sendable {
    case file, tpm

    /// As `--key-storage` and `status` spell it.
    public var name: String {
        switch self {
        case .file: "file"
        case .tpm: "tpm"
        }
    }

    public init?(name: String) {
        switch name {
        case "file": self = .file
        case "tpm": self = .tpm
        default: return nil
        }
    }
}

/// The curves for EC device keys (RFC 5480 named curves).
public enum EllipticCurve: Equatable, Sendable {
    case p256, p384

    public var name: String {
        switch self {
        case .p256: "p256"
        case .p384: "p384"
        }
    }

    /// Bytes in one coordinate, and so in the ECDH shared secret.
    public var coordinateSize: Int {
        switch self {
        case .p256: 32
        case .p384: 48
        }
    }

    var group: mbedtls_ecp_group_id {
        switch self {
        case .p256: MBEDTLS_ECP_DP_SECP256R1
        case .p384: MBEDTLS_ECP_DP_SECP384R1
        }
    }

    init?(group: mbedtls_ecp_group_id) {
        switch group {
        case MBEDTLS_ECP_DP_SECP256R1: self = .p256
        case MBEDTLS_ECP_DP_SECP384R1: self = .p384
        default: return nil
        }
    }
}
