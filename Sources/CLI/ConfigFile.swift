/// The config file: one `key = value` a line, `#` starting a comment line, blank lines ignored.
/// Keys are the long options without their dashes. A value may be put in double quotes to keep
/// leading or trailing spaces.
public enum ConfigFile {
    public static let defaultPath = "/etc/scep-agent.conf"
    /// Far above any real config; a larger file is a mistake, not a config.
    public static let maximumSize = 64 * 1024

    public static func parse(_ text: [UInt8], path: String) throws(UsageError) -> [GivenOptionList.Entry] {
        guard !text.contains(0) else { throw UsageError("\(path): contains a NUL byte; not a text file") }
        var entries: [GivenOptionList.Entry] = []
        var lineNumber = 0
        for rawLine in text.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
            lineNumber += 1
            let line = trim(rawLine)
            if line.isEmpty || line.first == UInt8(ascii: "#") { continue }
            let place = "\(path):\(lineNumber)"
            guard let equals = line.firstIndex(of: UInt8(ascii: "=")) else {
                throw UsageError("\(place): expected 'key = value', found '\(printable(line))'")
            }
            let key = String(decoding: trim(line[line.startIndex..<equals]), as: UTF8.self)
            var value = trim(line[(equals + 1)...])
            if value.count >= 2 && value.first == UInt8(ascii: "\"") && value.last == UInt8(ascii: "\"") {
                value = value.dropFirst().dropLast()
            }
            guard !key.isEmpty else { throw UsageError("\(place): a line has no key before '='") }
            guard let spec = OptionTable.option(named: key), spec.isConfigKey else {
                throw UsageError("\(place): unknown key '\(printable(Array(key.utf8)[...]))'")
            }
            guard let text = String(validating: value, as: UTF8.self) else {
                throw UsageError("\(place): \(key): the value is not valid UTF-8")
            }
            entries.append(GivenOptionList.Entry(option: GivenOption(name: key, value: text, source: "\(place): \(key)")))
        }
        return entries
    }

    private static func trim(_ bytes: ArraySlice<UInt8>) -> ArraySlice<UInt8> {
        var result = bytes
        while let first = result.first, first == 0x20 || first == 0x09 || first == 0x0d { result = result.dropFirst() }
        while let last = result.last, last == 0x20 || last == 0x09 || last == 0x0d { result = result.dropLast() }
        return result
    }

    /// A line quoted back in an error, with control characters shown as '?', cut at 60 bytes.
    private static func printable(_ bytes: ArraySlice<UInt8>) -> String {
        let shown = bytes.prefix(60).map { $0 < 0x20 || $0 == 0x7f ? UInt8(ascii: "?") : $0 }
        return String(decoding: shown, as: UTF8.self) + (bytes.count > 60 ? "..." : "")
    }
}
