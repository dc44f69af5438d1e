/// Unsigned numbers written as text in protocols and configuration: HTTP lengths and chunk sizes,
/// ports, durations, file modes, the digits of a time. One routine for all of them, with checked
/// arithmetic against an explicit limit, so a number from outside is refused the same way on a
/// 32-bit device as on a 64-bit one, never wrapped and never a trap.
public enum Numbers {
    /// The value of `digits` in `radix` (8, 10 or 16; hexadecimal in either case), or nil when
    /// a character is not a digit, there are none, or the value exceeds `limit`.
    public static func parse<Digits: Collection>(_ digits: Digits, radix: UInt64 = 10, limit: UInt64) -> UInt64?
    where Digits.Element == UInt8 {
        guard !digits.isEmpty else { return nil }
        var value: UInt64 = 0
        for character in digits {
            guard let digit = digitValue(character), UInt64(digit) < radix else { return nil }
            let (shifted, overflowShift) = value.multipliedReportingOverflow(by: radix)
            let (sum, overflowSum) = shifted.addingReportingOverflow(UInt64(digit))
            guard !overflowShift, !overflowSum, sum <= limit else { return nil }
            value = sum
        }
        return value
    }

    /// As an `Int`, for a limit that fits 31 bits (and so an `Int` on every target).
    public static func parseInt<Digits: Collection>(_ digits: Digits, radix: UInt64 = 10, limit: Int) -> Int?
    where Digits.Element == UInt8 {
        precondition(limit >= 0 && limit <= Int(Int32.max), "limits fit 31 bits")
        return parse(digits, radix: radix, limit: UInt64(limit)).map { Int($0) }
    }

    static func digitValue(_ character: UInt8) -> UInt8? {
        Hex.value(character)
    }
}
