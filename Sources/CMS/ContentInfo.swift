import ASN1

/// ContentInfo ::= SEQUENCE { contentType OBJECT IDENTIFIER, content [0] EXPLICIT ANY } (RFC 5652).
public struct ContentInfo: DERParseable {
    public let contentType: ObjectIdentifier
    /// The inner content's element (a SignedData or EnvelopedData SEQUENCE).
    public let content: DERElement

    public static var derName: String { "ContentInfo" }

    public init(derElement element: DERElement) throws(DERError) {
        (contentType, content) = try element.sequence { (fields) throws(DERError) in
            let type = try fields.readObjectIdentifier()
            let content = try fields.read(DERTag.contextConstructed(0)).withContents(of: DERTag.contextConstructed(0)) {
                (explicit) throws(DERError) in try explicit.read()
            }
            return (type, content)
        }
    }

    /// Parses a whole message: one ContentInfo and nothing after it.
    public init(message bytes: [UInt8]) throws(CMSError) {
        do { try self.init(derEncoded: bytes) } catch { throw .malformed(error) }
    }

    /// Writes a ContentInfo around what `body` writes.
    public static func write(_ contentType: ObjectIdentifier, into writer: inout DERWriter,
                             _ body: (inout DERWriter) -> Void) {
        writer.writeSequence { writer in
            writer.write(contentType)
            writer.writeExplicit(0, body)
        }
    }

    /// The content, after checking it is of `type`.
    public func expect(_ type: ObjectIdentifier) throws(CMSError) -> DERElement {
        guard contentType == type else { throw .unexpectedContentType(expected: type, found: contentType) }
        return content
    }
}

/// Attribute ::= SEQUENCE { attrType OBJECT IDENTIFIER, attrValues SET OF AttributeValue }
public struct Attribute: Equatable, DERParseable, DERSerializable {
    public let type: ObjectIdentifier
    /// Each value's whole encoding.
    public let values: [[UInt8]]

    public init(_ type: ObjectIdentifier, _ value: [UInt8]) {
        self.type = type
        self.values = [value]
    }

    /// An attribute whose one value `body` writes.
    public init(_ type: ObjectIdentifier, _ body: (inout DERWriter) -> Void) {
        self.init(type, DER.encode(body))
    }

    public static var derName: String { "Attribute" }

    public init(derElement element: DERElement) throws(DERError) {
        (type, values) = try element.sequence { (fields) throws(DERError) in
            let type = try fields.readObjectIdentifier()
            var set = try fields.enter(DERTag.set)
            var values: [[UInt8]] = []
            while !set.isAtEnd { values.append(Array(try set.read().encoded)) }
            return (type, values)
        }
    }

    public func serialize(into writer: inout DERWriter) {
        writer.writeSequence { writer in
            writer.write(type)
            writer.writeSetOf(values)
        }
    }
}

extension Array where Element == Attribute {
    /// The single value of attribute `type`, or nil when absent. Multi-valued SCEP attributes are
    /// invalid, and ambiguous, so they count as absent.
    public func value(of type: ObjectIdentifier) -> [UInt8]? {
        let matches = filter { $0.type == type }
        guard matches.count == 1, matches[0].values.count == 1 else { return nil }
        return matches[0].values[0]
    }
}

/// An OCTET STRING's bytes, whether `element` is primitive (tag `primitiveTag`) or constructed
/// from primitive OCTET STRING chunks (BER's form, which some CMS producers use for content even in
/// otherwise-DER messages). Chunks nest one level only. Serves eContent (OCTET STRING) and
/// encryptedContent ([0] IMPLICIT OCTET STRING) alike.
func octetStringAllowingChunks(_ element: DERElement, primitiveTag: UInt8) throws(DERError) -> [UInt8] {
    if element.tag == primitiveTag { return Array(element.contents) }
    guard element.tag == primitiveTag | 0x20 else {
        throw DERError(.unexpectedTag(expected: primitiveTag, found: element.tag), at: element.offset)
    }
    var chunks = try element.reader()
    var bytes: [UInt8] = []
    while !chunks.isAtEnd { bytes.append(contentsOf: try chunks.readOctetString()) }
    return bytes
}
