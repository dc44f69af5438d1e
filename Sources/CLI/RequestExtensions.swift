import Encoding
import ASN1
import Platform
import X509

/// The extensionRequest options: `--san`, `--key-usage`, `--extended-key-usage`.
enum RequestExtensions {
    /// `DNS:dev.example,IP:192.0.2.1,email:ops@example.com,URI:urn:dev:42`
    static func subjectAltNames(_ text: String) -> [SubjectAltName]? {
        var names: [SubjectAltName] = []
        for item in text.splitUTF8(at: UInt8(ascii: ",")) {
            let parts = item.splitUTF8(at: UInt8(ascii: ":"), maxSplits: 1)
            guard parts.count == 2 else { return nil }
            let kind = parts[0].asciiLowercased.trimmingASCIISpaces
            let value = parts[1].trimmingASCIISpaces
            guard !value.isEmpty, value.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7f }) else { return nil }
            switch kind {
            case "dns": names.append(.dns(value))
            case "email": names.append(.email(value))
            case "uri": names.append(.uri(value))
            case "ip":
                guard let address = IPAddress(value) else { return nil }
                names.append(.ipAddress(address.bytes))
            default: return nil
            }
        }
        return names.isEmpty ? nil : names
    }

    static func keyUsage(_ text: String) -> KeyUsage? {
        var usage: KeyUsage = []
        for item in text.splitUTF8(at: UInt8(ascii: ",")) {
            let name = item.trimmingASCIISpaces
            guard let match = KeyUsage.names.first(where: { $0.0.equalsIgnoringASCIICase(name) }) else { return nil }
            usage.insert(match.1)
        }
        return usage.isEmpty ? nil : usage
    }

    static let purposes: [(String, ObjectIdentifier)] = [("clientAuth", OID.clientAuth), ("serverAuth", OID.serverAuth)]

    static func extendedKeyUsage(_ text: String) -> [ObjectIdentifier]? {
        var identifiers: [ObjectIdentifier] = []
        for item in text.splitUTF8(at: UInt8(ascii: ",")) {
            let name = item.trimmingASCIISpaces
            guard let match = purposes.first(where: { $0.0.equalsIgnoringASCIICase(name) }) else { return nil }
            identifiers.append(match.1)
        }
        return identifiers.isEmpty ? nil : identifiers
    }
}
