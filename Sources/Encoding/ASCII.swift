/// Case-insensitive comparison for protocol keywords: HTTP field names and codings, SCEP
/// capabilities, URL schemes, DN attribute types, option values.
///
/// Their specifications fold case in ASCII only. Unicode case mapping would be wrong here (the
/// Kelvin sign lowercases to "k", so "Content-Length" spelt with one would match) and would
/// link String's case-mapping tables into the static binary.
extension StringProtocol {
    /// A-Z folded to a-z; every other byte as it is.
    public var asciiLowercased: String {
        String(decoding: utf8.map { $0 >= 0x41 && $0 <= 0x5a ? $0 | 0x20 : $0 }, as: UTF8.self)
    }

    /// a-z folded to A-Z; every other byte as it is.
    public var asciiUppercased: String {
        String(decoding: utf8.map { $0 >= 0x61 && $0 <= 0x7a ? $0 & ~0x20 : $0 }, as: UTF8.self)
    }

    /// Without leading and trailing spaces and tabs (HTTP's optional whitespace, DN parts).
    public var trimmingASCIIWhitespace: String { trimmingASCII { $0 == 0x20 || $0 == 0x09 } }

    /// Without leading and trailing spaces (items of a comma-separated option value).
    public var trimmingASCIISpaces: String { trimmingASCII { $0 == 0x20 } }

    private func trimmingASCII(_ isTrimmed: (UInt8) -> Bool) -> String {
        let bytes = Array(utf8)
        var start = 0
        var end = bytes.count
        while start < end && isTrimmed(bytes[start]) { start += 1 }
        while end > start && isTrimmed(bytes[end - 1]) { end -= 1 }
        return String(decoding: bytes[start..<end], as: UTF8.self)
    }

    public func equalsIgnoringASCIICase<Other: StringProtocol>(_ other: Other) -> Bool {
        utf8.count == other.utf8.count && zip(utf8, other.utf8).allSatisfy { foldASCII($0) == foldASCII($1) }
    }

    public func hasPrefixIgnoringASCIICase<Other: StringProtocol>(_ prefix: Other) -> Bool {
        utf8.count >= prefix.utf8.count && zip(utf8, prefix.utf8).allSatisfy { foldASCII($0) == foldASCII($1) }
    }
}

@inline(__always)
private func foldASCII(_ byte: UInt8) -> UInt8 { byte >= 0x41 && byte <= 0x5a ? byte | 0x20 : byte }
