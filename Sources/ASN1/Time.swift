import Encoding

/// UTCTime and GeneralizedTime (RFC 5280 section 4.1.2.5), as seconds since the Unix epoch.
public enum DERTime {
    /// RFC 5280: UTCTime through 2049, GeneralizedTime from 2050.
    public static func write(_ seconds: Int64, into writer: inout DERWriter) {
        let (year, month, day, hour, minute, second) = civil(from: seconds)
        let rest = two(month) + two(day) + two(hour) + two(minute) + two(second) + "Z"
        if year >= 1950 && year < 2050 {
            writer.writePrimitive(DERTag.utcTime, (two(year % 100) + rest).utf8)
        } else {
            writer.writePrimitive(DERTag.generalizedTime, (four(year) + rest).utf8)
        }
    }

    public static func encode(_ seconds: Int64) -> [UInt8] {
        DER.encode { write(seconds, into: &$0) }
    }

    /// Parses either form; only the `Z` (UTC) forms DER allows, with seconds.
    public static func parse(_ element: DERElement) throws(DERError) -> Int64 {
        let text = Array(element.contents)
        let bad = DERError(.invalid(.time), at: element.offset)
        let digits: ArraySlice<UInt8>
        var year: Int
        switch element.tag {
        case DERTag.utcTime:
            guard text.count == 13, text[12] == UInt8(ascii: "Z") else { throw bad }
            digits = text[0..<12]
            guard let yy = number(digits.prefix(2)) else { throw bad }
            year = yy < 50 ? 2000 + yy : 1900 + yy
        case DERTag.generalizedTime:
            guard text.count == 15, text[14] == UInt8(ascii: "Z") else { throw bad }
            digits = text[2..<14]
            guard let yyyy = number(text[0..<4]) else { throw bad }
            year = yyyy
        default:
            throw DERError(.unexpectedTag(expected: DERTag.utcTime, found: element.tag), at: element.offset)
        }
        let start = digits.startIndex
        guard let month = number(digits[(start + 2)..<(start + 4)]), let day = number(digits[(start + 4)..<(start + 6)]),
              let hour = number(digits[(start + 6)..<(start + 8)]), let minute = number(digits[(start + 8)..<(start + 10)]),
              let second = number(digits[(start + 10)..<(start + 12)]),
              (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60, second < 61 else { throw bad }
        return daysFromCivil(year, month, day) * 86_400 + Int64(hour * 3600 + minute * 60 + second)
    }

    /// ISO 8601 UTC text, e.g. "2026-11-29T02:15:00Z", for status output and logs.
    public static func iso8601(_ seconds: Int64) -> String {
        let (year, month, day, hour, minute, second) = civil(from: seconds)
        return four(year) + "-" + two(month) + "-" + two(day) + "T" + two(hour) + ":" + two(minute) + ":" + two(second) + "Z"
    }

    // Howard Hinnant's days_from_civil / civil_from_days: exact for the proleptic Gregorian calendar.
    static func daysFromCivil(_ year: Int, _ month: Int, _ day: Int) -> Int64 {
        let y = Int64(month <= 2 ? year - 1 : year)
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let m = Int64(month)
        let dayOfYear = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + Int64(day) - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    static func civil(from seconds: Int64) -> (Int, Int, Int, Int, Int, Int) {
        var days = seconds / 86_400
        var rest = seconds % 86_400
        if rest < 0 {
            rest += 86_400
            days -= 1
        }
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let day = Int(dayOfYear - (153 * mp + 2) / 5 + 1)
        let month = Int(mp < 10 ? mp + 3 : mp - 9)
        let year = Int(yearOfEra + era * 400) + (month <= 2 ? 1 : 0)
        return (year, month, day, Int(rest / 3600), Int(rest % 3600 / 60), Int(rest % 60))
    }

    private static func number(_ digits: ArraySlice<UInt8>) -> Int? {
        Numbers.parseInt(digits, limit: 9999)
    }

    private static func two(_ value: Int) -> String { value < 10 ? "0\(value)" : "\(value)" }
    private static func four(_ value: Int) -> String {
        value < 10 ? "000\(value)" : value < 100 ? "00\(value)" : value < 1000 ? "0\(value)" : "\(value)"
    }
}
