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
        guard !digits.isEmpty, digits.count <= 10, digits.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return nil }
        var value: Int64 = 0
        for digit in digits { value = value * 10 + Int64(digit - 0x30) }
        let seconds = value * unit
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

/// When to renew: a fixed time before not-after, or a share of the certificate's lifetime.
public enum RenewalThreshold: Equatable {
    case before(seconds: Int64)
    case percentOfLifetime(Int)

    public init?(_ text: String) {
        if text.hasSuffix("%") {
            let digits = Array(text.utf8.dropLast())
            guard !digits.isEmpty, digits.count <= 2, digits.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return nil }
            var value = 0
            for digit in digits { value = value * 10 + Int(digit - 0x30) }
            guard value >= 1 && value <= 99 else { return nil }
            self = .percentOfLifetime(value)
        } else {
            guard let seconds = DurationText.seconds(text), seconds > 0 else { return nil }
            self = .before(seconds: seconds)
        }
    }

    public var text: String {
        switch self {
        case .before(let seconds): DurationText.format(seconds)
        case .percentOfLifetime(let percent): "\(percent)%"
        }
    }
}
