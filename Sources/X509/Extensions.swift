import ASN1

/// One certificate extension (RFC 5280 section 4.1): its identifier, whether it is critical,
/// and the DER inside its extnValue OCTET STRING.
public struct CertificateExtension: Equatable, Sendable, DERParseable, DERSerializable {
    public let identifier: ObjectIdentifier
    public let critical: Bool
    public let value: [UInt8]

    public init(_ identifier: ObjectIdentifier, critical: Bool = false, value: [UInt8]) {
        self.identifier = identifier
        self.critical = critical
        self.value = value
    }

    public static var derName: String { "Extension" }

    public init(derElement element: DERElement) throws(DERError) {
        (identifier, critical, value) = try element.sequence { (fields) throws(DERError) in
            let identifier = try fields.readObjectIdentifier()
            let critical = fields.nextTag == DERTag.boolean ? try fields.readBoolean() : false
            return (identifier, critical, Array(try fields.readOctetString()))
        }
    }

    public func serialize(into writer: inout DERWriter) {
        writer.writeSequence { writer in
            writer.write(identifier)
            if critical { writer.writeBoolean(true) }
            writer.writeOctetString(value)
        }
    }

    public static func keyUsage(_ usage: KeyUsage) -> CertificateExtension {
        CertificateExtension(OID.keyUsage, critical: true, value: usage.derEncoded)
    }

    public static func extendedKeyUsage(_ purposes: [ObjectIdentifier]) -> CertificateExtension {
        CertificateExtension(OID.extendedKeyUsage, value: ExtendedKeyUsage(purposes).derEncoded)
    }

    public static func basicConstraints(_ constraints: BasicConstraints) -> CertificateExtension {
        CertificateExtension(OID.basicConstraints, critical: true, value: constraints.derEncoded)
    }

    /// subjectAltName from its names (RFC 5280 section 4.2.1.6).
    public static func subjectAltName(_ names: [SubjectAltName]) -> CertificateExtension {
        CertificateExtension(OID.subjectAltName, value: DER.encode { writer in
            writer.writeSequence { writer in
                for name in names { writer.write(name) }
            }
        })
    }
}

/// A certificate's extensions, with the ones path validation acts on decoded.
///
/// An extension this agent acts on or knows to be informational is "recognized"; any other
/// marked critical makes the certificate unusable (RFC 5280 section 4.2), which path validation
/// enforces through `unrecognizedCritical`. Two instances of one extension are refused outright.
public struct Extensions: Equatable, Sendable, DERParseable {
    public let all: [CertificateExtension]
    public let basicConstraints: BasicConstraints?
    public let keyUsage: KeyUsage?
    public let extendedKeyUsage: ExtendedKeyUsage?

    /// Extensions whose meaning this agent knows: the three it enforces, and names and key
    /// identifiers, which never restrict what a certificate may do.
    static let recognized: [ObjectIdentifier] = [
        OID.basicConstraints, OID.keyUsage, OID.extendedKeyUsage, OID.subjectAltName, OID.subjectKeyIdentifier,
        OID.authorityKeyIdentifier,
    ]

    public init() {
        all = []
        basicConstraints = nil
        keyUsage = nil
        extendedKeyUsage = nil
    }

    public static var derName: String { "Extensions" }

    public init(derElement element: DERElement) throws(DERError) {
        all = try element.sequence { (fields) throws(DERError) in try fields.decodeAll(CertificateExtension.self) }
        var seen: [ObjectIdentifier] = []
        var constraints: BasicConstraints? = nil
        var usage: KeyUsage? = nil
        var purposes: ExtendedKeyUsage? = nil
        for item in all {
            guard !seen.contains(item.identifier) else { throw DERError(.invalid(.duplicateExtension), at: element.offset) }
            seen.append(item.identifier)
            switch item.identifier {
            case OID.basicConstraints: constraints = try BasicConstraints(derEncoded: item.value)
            case OID.keyUsage: usage = try KeyUsage(derEncoded: item.value)
            case OID.extendedKeyUsage: purposes = try ExtendedKeyUsage(derEncoded: item.value)
            default: break
            }
        }
        basicConstraints = constraints
        keyUsage = usage
        extendedKeyUsage = purposes
    }

    /// Critical extensions this agent does not know: each makes the certificate unusable.
    public var unrecognizedCritical: [ObjectIdentifier] {
        all.filter { $0.critical && !Extensions.recognized.contains($0.identifier) }.map { $0.identifier }
    }
}

/// BasicConstraints ::= SEQUENCE { cA BOOLEAN DEFAULT FALSE, pathLenConstraint INTEGER OPTIONAL }
public struct BasicConstraints: Equatable, Sendable, DERParseable, DERSerializable {
    public let isCA: Bool
    /// How many intermediate CAs may follow this one in a path; nil for no limit.
    public let pathLength: Int?

    public init(isCA: Bool, pathLength: Int? = nil) {
        self.isCA = isCA
        self.pathLength = pathLength
    }

    public static var derName: String { "BasicConstraints" }

    public init(derElement element: DERElement) throws(DERError) {
        (isCA, pathLength) = try element.sequence { (fields) throws(DERError) in
            let isCA = fields.nextTag == DERTag.boolean ? try fields.readBoolean() : false
            let pathLength = fields.isAtEnd ? nil : try fields.readSmallInteger()
            return (isCA, pathLength)
        }
    }

    public func serialize(into writer: inout DERWriter) {
        writer.writeSequence { writer in
            if isCA { writer.writeBoolean(true) }
            if let pathLength { writer.writeInteger(pathLength) }
        }
    }
}

/// The keyUsage extension's bits (RFC 5280 section 4.2.1.3). SCEP picks the CA/RA certificate to
/// encrypt to by keyEncipherment, and the one that signs replies by digitalSignature.
public struct KeyUsage: OptionSet, Equatable, Sendable, DERParseable, DERSerializable {
    public let rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }

    // Bit n of the BIT STRING is the n-th bit from the most significant of the first byte.
    public static let digitalSignature = KeyUsage(rawValue: 1 << 0)
    public static let nonRepudiation = KeyUsage(rawValue: 1 << 1)
    public static let keyEncipherment = KeyUsage(rawValue: 1 << 2)
    public static let dataEncipherment = KeyUsage(rawValue: 1 << 3)
    public static let keyAgreement = KeyUsage(rawValue: 1 << 4)
    public static let keyCertSign = KeyUsage(rawValue: 1 << 5)
    public static let cRLSign = KeyUsage(rawValue: 1 << 6)

    public static let names: [(String, KeyUsage)] = [
        ("digitalSignature", .digitalSignature), ("nonRepudiation", .nonRepudiation),
        ("keyEncipherment", .keyEncipherment), ("dataEncipherment", .dataEncipherment),
        ("keyAgreement", .keyAgreement), ("keyCertSign", .keyCertSign), ("cRLSign", .cRLSign),
    ]

    public static var derName: String { "KeyUsage" }

    public init(derElement element: DERElement) throws(DERError) {
        guard element.tag == DERTag.bitString else {
            throw DERError(.unexpectedTag(expected: DERTag.bitString, found: element.tag), at: element.offset)
        }
        let contents = element.contents
        guard let unused = contents.first, unused < 8 else { throw DERError(.invalid(.bitStringPadding), at: element.offset) }
        var bits: UInt16 = 0
        for (index, byte) in contents.dropFirst().prefix(2).enumerated() {
            for bit in 0..<8 where byte & (0x80 >> UInt8(bit)) != 0 { bits |= 1 << UInt16(index * 8 + bit) }
        }
        rawValue = bits
    }

    /// A BIT STRING with trailing zero bits removed, as DER requires.
    public func serialize(into writer: inout DERWriter) {
        var bytes: [UInt8] = [0, 0]
        for bit in 0..<9 where rawValue & (1 << UInt16(bit)) != 0 { bytes[bit / 8] |= 0x80 >> UInt8(bit % 8) }
        while bytes.count > 1 && bytes.last == 0 { bytes.removeLast() }
        var unused: UInt8 = 0
        if let last = bytes.last, last != 0 {
            while last & (1 << unused) == 0 { unused += 1 }
        }
        writer.writeBitString(bytes, unusedBits: unused)
    }
}

/// ExtKeyUsageSyntax ::= SEQUENCE SIZE (1..MAX) OF KeyPurposeId
public struct ExtendedKeyUsage: Equatable, Sendable, DERParseable, DERSerializable {
    public let purposes: [ObjectIdentifier]

    public init(_ purposes: [ObjectIdentifier]) { self.purposes = purposes }

    public static var derName: String { "ExtKeyUsageSyntax" }

    public init(derElement element: DERElement) throws(DERError) {
        purposes = try element.sequence { (fields) throws(DERError) in try fields.decodeAll(ObjectIdentifier.self) }
    }

    public func serialize(into writer: inout DERWriter) {
        writer.writeSequence { writer in
            for purpose in purposes { writer.write(purpose) }
        }
    }

    public func contains(_ purpose: ObjectIdentifier) -> Bool { purposes.contains(purpose) }
}

/// A GeneralName of the kinds devices use.
public enum SubjectAltName: Equatable, Sendable, DERSerializable {
    case dns(String)
    case email(String)
    case uri(String)
    /// 4 bytes (IPv4) or 16 (IPv6).
    case ipAddress([UInt8])

    public func serialize(into writer: inout DERWriter) {
        switch self {
        case .email(let text): writer.writePrimitive(DERTag.contextPrimitive(1), text.utf8)
        case .dns(let text): writer.writePrimitive(DERTag.contextPrimitive(2), text.utf8)
        case .uri(let text): writer.writePrimitive(DERTag.contextPrimitive(6), text.utf8)
        case .ipAddress(let bytes): writer.writePrimitive(DERTag.contextPrimitive(7), bytes)
        }
    }
}
