import Encoding
import Crypto

/// What a server says it can do (GetCACaps, RFC 8894 section 3.5.2).
///
/// Keywords are case-insensitive, one per line (LF or CRLF); unknown ones are ignored, and an
/// empty reply or an HTTP error means "no capabilities". GetCACaps is unauthenticated, so the
/// choices made from it always prefer the strongest option offered, never the first.
public struct Capabilities: Equatable, Sendable {
    public let keywords: [String]

    public init(keywords: [String]) { self.keywords = keywords }

    public init(text: [UInt8]) {
        var found: [String] = []
        for line in text.split(whereSeparator: { $0 == 0x0a || $0 == 0x0d }) {
            let trimmed = line.drop { $0 == 0x20 || $0 == 0x09 }.reversed().drop { $0 == 0x20 || $0 == 0x09 }.reversed()
            guard !trimmed.isEmpty, trimmed.count <= 64, trimmed.allSatisfy({ $0 > 0x20 && $0 < 0x7f }) else { continue }
            found.append(String(decoding: trimmed, as: UTF8.self))
        }
        keywords = found
    }

    public static let none = Capabilities(keywords: [])

    public func has(_ keyword: String) -> Bool {
        return keywords.contains { $0.equalsIgnoringASCIICase(keyword) }
    }

    /// SCEPStandard implies AES, POSTPKIOperation and SHA-256.
    public var isStandard: Bool { has("SCEPStandard") }
    public var supportsPOST: Bool { isStandard || has("POSTPKIOperation") }
    public var supportsRenewal: Bool { has("Renewal") }
    public var supportsGetNextCACert: Bool { has("GetNextCACert") }

    /// The content cipher for requests: AES when offered (AES-256 is used only when the server
    /// names it, since plain "AES" means AES-128), 3DES only when allowed and nothing better
    /// exists, never single DES.
    public func requestCipher(allowWeak: Bool) -> ContentCipher? {
        if has("AES256") || has("AES-256") { return .aes256CBC }
        if isStandard || has("AES") { return .aes128CBC }
        if allowWeak && has("DES3") { return .desEDE3CBC }
        return nil
    }

    /// The digest for request signatures: SHA-512 or SHA-256, never SHA-1. A server that lists
    /// neither still gets SHA-256 (RFC 8894 makes it mandatory to implement).
    public var requestDigest: DigestAlgorithm {
        has("SHA-512") ? .sha512 : .sha256
    }
}
