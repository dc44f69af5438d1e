import Encoding

/// A SHA-256 fingerprint as configured: 64 hex digits, with optional colons, spaces and a
/// `sha256:` prefix (the forms `openssl x509 -fingerprint` and other tools print).
public enum FingerprintText {
    public static func parse(_ text: String) -> [UInt8]? {
        var body = text
        if body.hasPrefixIgnoringASCIICase("sha256:") { body = body.droppingUTF8Prefix(7) }
        if body.hasPrefixIgnoringASCIICase("sha256 fingerprint=") { body = body.droppingUTF8Prefix(19) }
        let digits = body.utf8.filter { $0 != UInt8(ascii: ":") && $0 != UInt8(ascii: " ") }
        guard digits.count == 64 else { return nil }
        return Hex.decode(String(decoding: digits, as: UTF8.self))
    }

    /// Colon-separated upper-case hex, the form people compare by eye.
    public static func format(_ digest: [UInt8]) -> String {
        Hex.encode(digest, separator: ":").asciiUppercased
    }
}
