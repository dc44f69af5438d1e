import ASN1

/// ContentInfo ::= SEQUENCE { contentType OBJECT IDENTIFIER, content [0] EXPLICIT ANY } (RFC 5652).
public struct ContentInfo {
    public let contentType: ObjectIdentifier
    /// The inner content's element (a SignedData or EnvelopedData SEQUENCE).
    public let content: DERElement

    public static func wrap(_ contentType: ObjectIdentifier, _ content: [UInt8]) -> [UInt8] {
        DER.sequence([DER.objectIdentifier(contentType), DER.explicit(0, content)])
    }

    public init(der bytes: ArraySlice<UInt8>, context: String) throws(CMSError) {
        do throws(DERError) {
            var top = try DERReader(bytes, context: context)
            var info = try top.enterSequence(context)
            try top.finish()
            contentType = try info.readObjectIdentifier()
            var explicit = try info.enter(DERTag.contextConstructed(0), context + ".content")
            content = try explicit.read()
            try explicit.finish()
            try info.finish()
        } catch {
            throw .malformed(error)
        }
    }

    /// The content, after checking it is of `type`.
    public func expect(_ type: ObjectIdentifier) throws(CMSError) -> DERElement {
        guard contentType == type else {
            throw .unexpectedContentType(expected: type.description, found: contentType.description)
        }
        return content
    }
}

/// Attribute ::= SEQUENCE { attrType OBJECT IDENTIFIER, attrValues SET OF AttributeValue }
public struct Attribute: Equatable {
    public let type: ObjectIdentifier
    /// Each value's whole encoding.
    public let values: [[UInt8]]

    public init(_ type: ObjectIdentifier, _ value: [UInt8]) {
        self.type = type
        self.values = [value]
    }

    init(type: ObjectIdentifier, values: [[UInt8]]) {
        self.type = type
        self.values = values
    }

    public var der: [UInt8] { DER.sequence([DER.objectIdentifier(type), DER.setOf(values)]) }
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
