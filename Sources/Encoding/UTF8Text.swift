/// Prefixes, suffixes and splits of text by its UTF-8 bytes.
///
/// What the agent parses as text (options, URLs, file names, HTTP fields, resolv.conf) is ASCII
/// by its specification, and comparing bytes is what those specifications mean. String's own
/// hasPrefix, split(separator:) and dropFirst work on Characters instead: they apply Unicode's
/// grapheme-cluster rules, whose tables and code (10 KB) would be linked into the static binary
/// for these few ASCII operations.
extension StringProtocol {
    public func hasUTF8Prefix(_ prefix: String) -> Bool { utf8.starts(with: prefix.utf8) }

    public func hasUTF8Suffix(_ suffix: String) -> Bool {
        utf8.count >= suffix.utf8.count && utf8.reversed().starts(with: suffix.utf8.reversed())
    }

    /// Without its first `count` bytes: the length of an ASCII prefix just checked.
    public func droppingUTF8Prefix(_ count: Int) -> String { String(decoding: utf8.dropFirst(count), as: UTF8.self) }

    /// Without its last `count` bytes: the length of an ASCII suffix just checked.
    public func droppingUTF8Suffix(_ count: Int) -> String { String(decoding: utf8.dropLast(count), as: UTF8.self) }

    /// The parts between the bytes `separator` (an ASCII character), as `split(separator:)`
    /// gives them: empty parts left out unless `omittingEmpty` is false.
    public func splitUTF8(at separator: UInt8, maxSplits: Int = Int.max, omittingEmpty: Bool = true) -> [String] {
        utf8.split(separator: separator, maxSplits: maxSplits, omittingEmptySubsequences: omittingEmpty)
            .map { String(decoding: $0, as: UTF8.self) }
    }
}
