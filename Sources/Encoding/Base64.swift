/// Standard base64 (RFC 4648 section 4, with padding).
///
/// SCEP's GET wants exactly this alphabet, on one line, never base64url: a frequent client bug.
public enum Base64 {
    private static let alphabet: [UInt8] = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    public static func encode(_ bytes: [UInt8]) -> String {
        var text: [UInt8] = []
        text.reserveCapacity((bytes.count + 2) / 3 * 4)
        bytes.withUnsafeBufferPointer { buffer in encode(buffer) { text.append($0) } }
        return String(decoding: text, as: UTF8.self)
    }

    /// Emits the encoding one character at a time, so callers decide where the text lives.
    public static func encode(_ bytes: UnsafeBufferPointer<UInt8>, _ emit: (UInt8) -> Void) {
        var index = 0
        while index + 3 <= bytes.count {
            let block = UInt32(bytes[index]) << 16 | UInt32(bytes[index + 1]) << 8 | UInt32(bytes[index + 2])
            emitQuantum(block, characters: 4, emit)
            index += 3
        }
        let remaining = bytes.count - index
        if remaining == 1 {
            emitQuantum(UInt32(bytes[index]) << 16, characters: 2, emit)
            emit(UInt8(ascii: "="))
            emit(UInt8(ascii: "="))
        } else if remaining == 2 {
            emitQuantum(UInt32(bytes[index]) << 16 | UInt32(bytes[index + 1]) << 8, characters: 3, emit)
            emit(UInt8(ascii: "="))
        }
    }

    private static func emitQuantum(_ block: UInt32, characters: Int, _ emit: (UInt8) -> Void) {
        for position in 0..<characters {
            emit(alphabet[Int((block >> UInt32(18 - 6 * position)) & 0x3f)])
        }
    }

    /// Decodes base64, skipping ASCII white space (PEM wraps lines); nil for any other stray
    /// character, misplaced padding, or a length that is not a whole number of quanta.
    public static func decode<Text: Collection>(_ text: Text) -> [UInt8]? where Text.Element == UInt8 {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.count / 4 * 3)
        var block: UInt32 = 0
        var count = 0
        var padding = 0
        for character in text {
            if character == 0x20 || character == 0x0a || character == 0x0d || character == 0x09 { continue }
            if character == UInt8(ascii: "=") {
                padding += 1
                guard padding <= 2 else { return nil }
                block <<= 6
                count += 1
            } else {
                guard padding == 0, let value = value(character) else { return nil }
                block = block << 6 | UInt32(value)
                count += 1
            }
            if count == 4 {
                bytes.append(UInt8(truncatingIfNeeded: block >> 16))
                if padding < 2 { bytes.append(UInt8(truncatingIfNeeded: block >> 8)) }
                if padding < 1 { bytes.append(UInt8(truncatingIfNeeded: block)) }
                block = 0
                count = 0
                if padding > 0 { padding = 3 } // nothing may follow a padded quantum
            }
        }
        guard count == 0 else { return nil }
        return bytes
    }

    private static func value(_ character: UInt8) -> UInt8? {
        switch character {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"): character - UInt8(ascii: "A")
        case UInt8(ascii: "a")...UInt8(ascii: "z"): character - UInt8(ascii: "a") + 26
        case UInt8(ascii: "0")...UInt8(ascii: "9"): character - UInt8(ascii: "0") + 52
        case UInt8(ascii: "+"): 62
        case UInt8(ascii: "/"): 63
        default: nil
        }
    }
}
