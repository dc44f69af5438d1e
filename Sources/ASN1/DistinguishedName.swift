import Encoding

/// An X.501 Name: the subject and issuer of certificates and requests.
///
/// Written as text in RFC 4514 order (`CN=dev-0042,O=Acme`: most specific first) and encoded in
/// the reverse, DER order. Multi-valued RDNs (`+`) are not needed by any SCEP server and are
/// refused rather than half supported.
public struct DistinguishedName: Equatable, Sendable, DERParseable, DERSerializable {
    public struct Attribute: Equatable, Sendable {
        public let type: ObjectIdentifier
        public let value: String
        /// The string tag used on the wire (PrintableString, UTF8String, IA5String...).
        public let stringTag: UInt8
    }

    /// In DER order: the first element is the most significant (the country, or the organization).
    public let attributes: [Attribute]

    public init(attributes: [Attribute]) { self.attributes = attributes }

    // MARK: Text (RFC 4514)

    public enum TextError: Error, Equatable, CustomStringConvertible {
        case empty
        case missingEquals(String)
        case unknownAttribute(String)
        case emptyValue(String)
        case multiValued
        case badEscape
        case invalidValue(String, String)

        public var description: String {
            switch self {
            case .empty: "the subject is empty"
            case .missingEquals(let part): "'\(part)' is not of the form TYPE=value"
            case .unknownAttribute(let type):
                "unknown attribute type '\(type)' (known: CN, O, OU, C, ST, L, STREET, DC, UID, serialNumber, emailAddress, title, GN, SN)"
            case .emptyValue(let type): "\(type) has an empty value"
            case .multiValued: "multi-valued RDNs ('+') are not supported"
            case .badEscape: "a backslash escape is incomplete"
            case .invalidValue(let type, let why): "\(type): \(why)"
            }
        }
    }

    private static let shortNames: [(String, ObjectIdentifier)] = [
        ("CN", OID.commonName), ("O", OID.organizationName), ("OU", OID.organizationalUnitName),
        ("C", OID.countryName), ("ST", OID.stateOrProvinceName), ("L", OID.localityName),
        ("STREET", OID.streetAddress), ("DC", OID.domainComponent), ("UID", OID.userID),
        ("serialNumber", OID.serialNumber), ("emailAddress", OID.emailAddress), ("title", OID.title),
        ("GN", OID.givenName), ("SN", OID.surname),
    ]

    /// Parses `CN=dev-0042,O=Acme`. A backslash escapes the next character (`\,` for a comma).
    public init(rfc4514 text: String) throws(TextError) {
        var parts: [String] = []
        var current: [UInt8] = []
        var escaping = false
        for byte in text.utf8 {
            if escaping {
                current.append(byte)
                escaping = false
            } else if byte == UInt8(ascii: "\\") {
                current.append(byte)
                escaping = true
            } else if byte == UInt8(ascii: ",") {
                parts.append(String(decoding: current, as: UTF8.self))
                current = []
            } else if byte == UInt8(ascii: "+") {
                throw .multiValued
            } else {
                current.append(byte)
            }
        }
        guard !escaping else { throw .badEscape }
        parts.append(String(decoding: current, as: UTF8.self))
        guard !(parts.count == 1 && parts[0].trimmingASCIIWhitespace.isEmpty) else { throw .empty }

        var parsed: [Attribute] = []
        for part in parts {
            let bytes = Array(part.utf8)
            guard let equals = bytes.firstIndex(of: UInt8(ascii: "=")) else { throw .missingEquals(part.trimmingASCIIWhitespace) }
            let typeName = String(decoding: bytes[..<equals], as: UTF8.self).trimmingASCIIWhitespace
            let value = DistinguishedName.unescape(String(decoding: bytes[(equals + 1)...], as: UTF8.self).trimmingASCIIWhitespace)
            guard let type = DistinguishedName.type(named: typeName) else { throw .unknownAttribute(typeName) }
            guard !value.isEmpty else { throw .emptyValue(typeName) }
            parsed.append(try DistinguishedName.attribute(type, typeName, value))
        }
        attributes = parsed.reversed()
    }

    static func type(named name: String) -> ObjectIdentifier? {
        for (short, identifier) in shortNames where short.equalsIgnoringASCIICase(name) { return identifier }
        if name.equalsIgnoringASCIICase("e") || name.equalsIgnoringASCIICase("email") { return OID.emailAddress }
        return nil
    }

    static func shortName(of type: ObjectIdentifier) -> String {
        for (short, identifier) in shortNames where identifier == type { return short }
        return type.dotted
    }

    /// Chooses the string type each attribute requires (X.520, RFC 5280 appendix A).
    static func attribute(_ type: ObjectIdentifier, _ name: String, _ value: String) throws(TextError) -> Attribute {
        if type == OID.countryName {
            guard value.utf8.count == 2, DERWriter.isPrintable(value) else {
                throw .invalidValue(name, "a country is two letters (ISO 3166)")
            }
            return Attribute(type: type, value: value, stringTag: DERTag.printableString)
        }
        if type == OID.serialNumber {
            guard DERWriter.isPrintable(value) else { throw .invalidValue(name, "must be printable ASCII") }
            return Attribute(type: type, value: value, stringTag: DERTag.printableString)
        }
        if type == OID.emailAddress || type == OID.domainComponent {
            guard value.utf8.allSatisfy({ $0 < 0x80 }) else { throw .invalidValue(name, "must be ASCII") }
            return Attribute(type: type, value: value, stringTag: DERTag.ia5String)
        }
        guard value.utf8.count <= 256 else { throw .invalidValue(name, "longer than 256 bytes") }
        return Attribute(type: type, value: value,
                         stringTag: DERWriter.isPrintable(value) ? DERTag.printableString : DERTag.utf8String)
    }

    private static func unescape(_ text: String) -> String {
        var result: [UInt8] = []
        var escaping = false
        for byte in text.utf8 {
            if !escaping && byte == UInt8(ascii: "\\") {
                escaping = true
                continue
            }
            escaping = false
            result.append(byte)
        }
        return String(decoding: result, as: UTF8.self)
    }

    /// RFC 4514 text, most specific first, with `,`, `+`, `"`, `\`, `<`, `>`, `;`, `=` escaped.
    public var rfc4514String: String {
        var text = ""
        for attribute in attributes.reversed() {
            if !text.isEmpty { text += "," }
            text += DistinguishedName.shortName(of: attribute.type) + "=" + DistinguishedName.escape(attribute.value)
        }
        return text
    }

    private static func escape(_ value: String) -> String {
        var result = ""
        for scalar in value.unicodeScalars {
            switch scalar {
            case ",", "+", "\"", "\\", "<", ">", ";", "=":
                result += "\\"
                result.unicodeScalars.append(scalar)
            default:
                if scalar.value < 0x20 || scalar.value == 0x7f {
                    result += "\\" + Hex.encode([UInt8(scalar.value)])
                } else {
                    result.unicodeScalars.append(scalar)
                }
            }
        }
        return result
    }

    /// The value of the first attribute of `type`, e.g. the common name.
    public func value(of type: ObjectIdentifier) -> String? {
        attributes.first { $0.type == type }?.value
    }

    // MARK: DER

    public static var derName: String { "Name" }

    public func serialize(into writer: inout DERWriter) {
        writer.writeSequence { writer in
            for attribute in attributes {
                writer.writeConstructed(DERTag.set) { writer in
                    writer.writeSequence { writer in
                        writer.write(attribute.type)
                        writer.writePrimitive(attribute.stringTag, attribute.value.utf8)
                    }
                }
            }
        }
    }

    /// Multi-valued RDNs are read as consecutive single-valued ones: they are only shown and
    /// compared here, and names are compared by their encodings.
    public init(derElement element: DERElement) throws(DERError) {
        attributes = try element.sequence { (names) throws(DERError) in
            var parsed: [Attribute] = []
            while !names.isAtEnd {
                var relative = try names.enter(DERTag.set)
                while !relative.isAtEnd {
                    parsed.append(try relative.read().sequence { (pair) throws(DERError) in
                        let type = try pair.readObjectIdentifier()
                        let tag = pair.nextTag ?? 0
                        return Attribute(type: type, value: try pair.readString(), stringTag: tag)
                    })
                }
            }
            return parsed
        }
    }
}
