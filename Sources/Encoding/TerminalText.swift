/// Text from a server or a certificate, made safe for a terminal: what `status`, `getca` and
/// `caps` print. No control character (C0, DEL, or C1, which some terminals also obey) passes
/// through, so a subject cannot move the cursor, change the title or inject an escape sequence;
/// each is spelt `\xNN` (a C1 character by its code point). A backslash is doubled so the
/// escapes read back unambiguously; everything else is printed as it is.
public enum TerminalText {
    public static func escaped(_ text: String) -> String {
        var clean = true
        for scalar in text.unicodeScalars where scalar.value < 0x20 || (scalar.value >= 0x7f && scalar.value <= 0x9f) || scalar == "\\" {
            clean = false
        }
        if clean { return text }
        var result = ""
        for scalar in text.unicodeScalars {
            if scalar == "\\" {
                result += "\\\\"
            } else if scalar.value < 0x20 || (scalar.value >= 0x7f && scalar.value <= 0x9f) {
                result += "\\x" + Hex.encode([UInt8(scalar.value)])
            } else {
                result.unicodeScalars.append(scalar)
            }
        }
        return result
    }
}
