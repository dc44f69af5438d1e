/// Placeholders in `--subject`, filled from the device on first boot: `CN={serial},O=Acme`.
/// Known names: hostname, machine-id, serial, mac.
enum SubjectTemplate {
    static let names = ["hostname", "machine-id", "serial", "mac"]

    /// Replaces each `{name}`; throws naming the first placeholder that is unknown or unavailable.
    static func expand(_ text: String, lookup: (String) -> String?) throws(UsageError) -> String {
        // Byte by byte: the braces and the escaped characters are ASCII, and a byte of a
        // multi-byte UTF-8 sequence is never ASCII.
        var result: [UInt8] = []
        var rest = Array(text.utf8)[...]
        let special = Array(",+\"\\<>;=".utf8)
        while let open = rest.firstIndex(of: UInt8(ascii: "{")) {
            result += rest[..<open]
            guard let close = rest[open...].firstIndex(of: UInt8(ascii: "}")) else { throw UsageError("an unclosed '{' in the subject") }
            let name = String(decoding: rest[(open + 1)..<close], as: UTF8.self)
            guard names.contains(name) else {
                throw UsageError("unknown placeholder {\(name)} in the subject (known: {hostname}, {machine-id}, {serial}, {mac})")
            }
            guard let value = lookup(name) else { throw UsageError("the subject uses {\(name)}, which this device does not provide") }
            // A value is data, never syntax: escape what RFC 4514 gives meaning to.
            for byte in value.utf8 {
                if special.contains(byte) { result.append(UInt8(ascii: "\\")) }
                result.append(byte)
            }
            rest = rest[(close + 1)...]
        }
        return String(decoding: result + rest, as: UTF8.self)
    }
}
