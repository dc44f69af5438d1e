import ASN1

/// The keyUsage extension's bits (RFC 5280 section 4.2.1.3). SCEP picks the CA/RA certificate to
/// encrypt to by keyEncipherment, and the one that signs replies by digitalSignature.
public struct KeyUsage: OptionSet, Equatable, Sendable {
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

    init(extensionValue: ArraySlice<UInt8>) throws(DERError) {
        var reader = try DERReader(extensionValue, context: "keyUsage")
        let contents = try reader.read(DERTag.bitString).contents
        try reader.finish()
        guard let unused = contents.first, unused < 8 else { throw DERError(.badValue("invalid BIT STRING"), "keyUsage") }
        var bits: UInt16 = 0
        for (index, byte) in contents.dropFirst().prefix(2).enumerated() {
            for bit in 0..<8 where byte & (0x80 >> UInt8(bit)) != 0 { bits |= 1 << UInt16(index * 8 + bit) }
        }
        rawValue = bits
    }

    /// The extension value: a BIT STRING with trailing zero bits removed, as DER requires.
    public var extensionValue: [UInt8] {
        var bytes: [UInt8] = [0, 0]
        for bit in 0..<9 where rawValue & (1 << UInt16(bit)) != 0 { bytes[bit / 8] |= 0x80 >> UInt8(bit % 8) }
        while bytes.count > 1 && bytes.last == 0 { bytes.removeLast() }
        var unused: UInt8 = 0
        if let last = bytes.last, last != 0 {
            while last & (1 << unused) == 0 { unused += 1 }
        }
        return DER.tlv(DERTag.bitString, [unused] + bytes)
    }
}

/// One certificate extension, ready to encode into a certificate or an extensionRequest.
public struct CertificateExtension: Equatable, Sendable {
    public let identifier: ObjectIdentifier
    public let critical: Bool
    /// The DER inside the extnValue OCTET STRING.
    public let value: [UInt8]

    public init(_ identifier: ObjectIdentifier, critical: Bool = false, value: [UInt8]) {
        self.identifier = identifier
        self.critical = critical
        self.value = value
    }

    public var der: [UInt8] {
        DER.sequence([DER.objectIdentifier(identifier), critical ? DER.boolean(true) : [], DER.octetString(value)])
    }

    public static func keyUsage(_ usage: KeyUsage) -> CertificateExtension {
        CertificateExtension(OID.keyUsage, critical: true, value: usage.extensionValue)
    }

    public static func extendedKeyUsage(_ purposes: [ObjectIdentifier]) -> CertificateExtension {
        CertificateExtension(OID.extendedKeyUsage, value: DER.sequence(purposes.map(DER.objectIdentifier)))
    }

    /// subjectAltName from its names (RFC 5280 section 4.2.1.6).
    public static func subjectAltName(_ names: [SubjectAltName]) -> CertificateExtension {
        CertificateExtension(OID.subjectAltName, value: DER.sequence(names.map { $0.der }))
    }
}

/// A GeneralName of the kinds devices use.
public enum SubjectAltName: Equatable, Sendable {
    case dns(String)
    case email(String)
    case uri(String)
    /// 4 bytes (IPv4) or 16 (IPv6).
    case ipAddress([UInt8])

    public var der: [UInt8] {
        switch self {
        case .email(let text): DER.tlv(DERTag.contextPrimitive(1), Array(text.utf8))
        case .dns(let text): DER.tlv(DERTag.contextPrimitive(2), Array(text.utf8))
        case .uri(let text): DER.tlv(DERTag.contextPrimitive(6), Array(text.utf8))
        case .ipAddress(let bytes): DER.tlv(DERTag.contextPrimitive(7), bytes)
        }
    }
}
