import Encoding

/// Durations in configuration: `30s`, `10m`, `12h`, `14d`, or a bare number of seconds.
public enum DurationText {
    /// Ten years: longer than any certificate lifetime worth renewing, short enough to never overflow.
    static let maximumSeconds: Int64 = 10 * 366 * 86_400

    public static func seconds(_ text: String) -> Int64? {
        var digits = Array(text.utf8)
        guard let last = digits.last else { return nil }
        var unit: Int64 = 1
        switch last {
        case UInt8(ascii: "s"): unit = 1
        case UInt8(ascii: "m"): unit = 60
        case UInt8(ascii: "h"): unit = 3600
        case UInt8(ascii: "d"): unit = 86_400
        case UInt8(ascii: "0")...UInt8(ascii: "9"): unit = 1
        default: return nil
        }
        if last > UInt8(ascii: "9") { digits.removeLast() }
        guard digits.count <= 10, let value = Numbers.parse(digits, limit: UInt64(maximumSeconds)) else { return nil }
        let seconds = Int64(value) * unit
        return seconds <= maximumSeconds ? seconds : nil
    }

    /// The shortest exact text for `seconds`: 86400 -> "1d", 90 -> "90s".
    public static func format(_ seconds: Int64) -> String {
        if seconds > 0 && seconds % 86_400 == 0 { return "\(seconds / 86_400)d" }
        if seconds > 0 && seconds % 3600 == 0 { return "\(seconds / 3600)h" }
        if seconds > 0 && seconds % 60 == 0 { return "\(seconds / 60)m" }
        return "\(seconds)s"
    }
}
