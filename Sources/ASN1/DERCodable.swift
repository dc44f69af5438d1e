/// An ASN.1 type read from DER: a small value type with a matching `DERSerializable` writer,
/// after swift-asn1's `DERParseable`.
///
/// `derName` is the type's ASN.1 name. It is said once, here, and errors from inside the type
/// carry it in their path: no call site writes a location string.
public protocol DERParseable {
    static var derName: String { get }
    init(derElement element: DERElement) throws(DERError)
}

/// An ASN.1 type written as DER.
public protocol DERSerializable {
    func serialize(into writer: inout DERWriter)
}

extension DERParseable {
    /// Decodes `element` as this type; an error from inside gains this type's name.
    public static func decode(_ element: DERElement) throws(DERError) -> Self {
        do { return try Self(derElement: element) } catch { throw error.inside(derName) }
    }

    /// Decodes bytes that must hold exactly one element of this type.
    public init(derEncoded bytes: ArraySlice<UInt8>) throws(DERError) {
        var reader = try DERReader(bytes)
        do {
            let element = try reader.read()
            try reader.finish()
            self = try Self(derElement: element)
        } catch {
            throw error.inside(Self.derName)
        }
    }

    public init(derEncoded bytes: [UInt8]) throws(DERError) {
        try self.init(derEncoded: bytes[...])
    }
}

extension DERSerializable {
    /// This value's DER.
    public var derEncoded: [UInt8] {
        var writer = DERWriter()
        serialize(into: &writer)
        return writer.bytes
    }
}
