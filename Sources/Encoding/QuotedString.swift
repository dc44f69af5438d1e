/// Double-quoted text that stays on one line and reads back exactly: what log fields and the
/// `status --json` values need of text that may come from a server or a certificate.
public enum QuotedString {
    /// How a control character without a short escape (`\n`, `\r`, `\t`) is spelt.
    public enum ControlEscape {
        /// `\u001b`: JSON's only form.
        case unicode
        /// `\x1b`: shorter, for the log's `key="value"` fields.
        case hex
    }

    /// `text` between double quotes; `"` and `\` are escaped and no control character (nor DEL)
    /// passes through, so a newline in a server's message cannot forge a second line.
    public static func quote(_ text: String, controls: ControlEscape) -> String {
        var result = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": result += "\\\""
            case "\\": result += "\\\\"
            case "\n": result += "\\n"
            case "\r": result += "\\r"
            case "\t": result += "\\t"
            default:
                if scalar.value < 0x20 || scalar.value == 0x7f {
                    result += (controls == .unicode ? "\\u00" : "\\x") + Hex.encode([UInt8(scalar.value)])
                } else {
                    result.unicodeScalars.append(scalar)
                }
            }
        }
        return result + "\""
    }
}
