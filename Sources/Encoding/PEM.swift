/// PEM (RFC 7468): base64 DER between `-----BEGIN label-----` and `-----END label-----` lines.
public enum PEM {
    public static func encode(_ der: [UInt8], label: String) -> String {
        let body = Array(Base64.encode(der).utf8)
        var text = "-----BEGIN \(label)-----\n"
        var index = 0
        while index < body.count {
            let end = min(index + 64, body.count)
            text += String(decoding: body[index..<end], as: UTF8.self) + "\n"
            index = end
        }
        return text + "-----END \(label)-----\n"
    }

    /// Every block with `label` in `text`, in order, as DER. Text outside the blocks (comments,
    /// openssl's "subject=" lines) is ignored; a block whose body is not base64 is an error.
    public static func decodeAll(_ text: [UInt8], label: String) -> [[UInt8]]? {
        let begin = Array("-----BEGIN \(label)-----".utf8)
        let end = Array("-----END \(label)-----".utf8)
        var blocks: [[UInt8]] = []
        var cursor = 0
        while let start = find(begin, in: text, from: cursor) {
            let bodyStart = start + begin.count
            guard let stop = find(end, in: text, from: bodyStart),
                  let der = Base64.decode(text[bodyStart..<stop]) else { return nil }
            blocks.append(der)
            cursor = stop + end.count
        }
        return blocks
    }

    /// Whether `bytes` look like PEM text rather than DER (DER starts with a SEQUENCE tag).
    public static func looksLikePEM(_ bytes: [UInt8]) -> Bool {
        find(Array("-----BEGIN ".utf8), in: bytes, from: 0) != nil
    }

    private static func find(_ needle: [UInt8], in haystack: [UInt8], from start: Int) -> Int? {
        guard !needle.isEmpty, haystack.count >= needle.count, start <= haystack.count - needle.count else { return nil }
        var index = start
        while index <= haystack.count - needle.count {
            if haystack[index] == needle[0] && haystack[index..<(index + needle.count)].elementsEqual(needle) {
                return index
            }
            index += 1
        }
        return nil
    }
}

extension PEM {
    /// PEM as bytes, for secrets: the caller can wipe the result, which a String never allows.
    /// The capacity is reserved up front so no reallocation leaves a copy behind.
    public static func encodeBytes(_ der: UnsafeBufferPointer<UInt8>, label: String) -> [UInt8] {
        let begin = Array("-----BEGIN \(label)-----\n".utf8)
        let end = Array("-----END \(label)-----\n".utf8)
        let bodyLength = (der.count + 2) / 3 * 4
        var text: [UInt8] = []
        text.reserveCapacity(begin.count + bodyLength + bodyLength / 64 + 1 + end.count)
        text.append(contentsOf: begin)
        var column = 0
        Base64.encode(der) { character in
            text.append(character)
            column += 1
            if column == 64 {
                text.append(0x0a)
                column = 0
            }
        }
        if column != 0 { text.append(0x0a) }
        text.append(contentsOf: end)
        return text
    }
}
