/// Placeholders in `--subject`, filled from the device on first boot: `CN={serial},O=Acme`.
/// Known names: hostname, machine-id, serial, mac.
enum SubjectTemplate {
    static let names = ["hostname", "machine-id", "serial", "mac"]

    /// Replaces each `{name}`; throws naming the first placeholder that is unknown or unavailable.
    static func expand(_ text: String, lookup: (String) -> String?) throws(UsageError) -> String {
        var result = ""
        var rest = Substring(text)
        while let open = rest.firstIndex(of: "{") {
            result += rest[..<open]
            guard let close = rest[open...].firstIndex(of: "}") else { throw UsageError("an unclosed '{' in the subject") }
            let name = String(rest[rest.index(after: open)..<close])
            guard names.contains(name) else {
                throw UsageError("unknown placeholder {\(name)} in the subject (known: {hostname}, {machine-id}, {serial}, {mac})")
            }
            guard let value = lookup(name) else { throw UsageError("the subject uses {\(name)}, which this device does not provide") }
            // A value is data, never syntax: escape what RFC 4514 gives meaning to.
            for character in value {
                if ",+\"\\<>;=".contains(character) { result += "\\" }
                result.append(character)
            }
            rest = rest[rest.index(after: close)...]
        }
        return result + rest
    }
}
