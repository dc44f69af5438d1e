/// An OBJECT IDENTIFIER, kept in its DER content encoding so comparisons are byte compares.
public struct ObjectIdentifier: Equatable, Hashable, Sendable, CustomStringConvertible, DERParseable, DERSerializable {
    public let der: [UInt8]

    /// From dotted arcs, e.g. [1, 2, 840, 113549, 1, 1, 1].
    public init(_ arcs: [UInt64]) {
        precondition(arcs.count >= 2 && arcs[0] <= 2, "an OID has at least two arcs")
        var bytes: [UInt8] = []
        ObjectIdentifier.appendBase128(arcs[0] * 40 + arcs[1], to: &bytes)
        for arc in arcs.dropFirst(2) { ObjectIdentifier.appendBase128(arc, to: &bytes) }
        der = bytes
    }

    public init(derElement element: DERElement) throws(DERError) {
        let contents = element.contents
        let invalid = DERError(.invalid(.objectIdentifier), at: element.offset)
        guard element.tag == DERTag.objectIdentifier else {
            throw DERError(.unexpectedTag(expected: DERTag.objectIdentifier, found: element.tag), at: element.offset)
        }
        guard !contents.isEmpty, contents.last! & 0x80 == 0 else { throw invalid }
        var previousEnded = true
        for byte in contents {
            // A sub-identifier may not start with 0x80 (non-minimal).
            if previousEnded && byte == 0x80 { throw invalid }
            previousEnded = byte & 0x80 == 0
        }
        der = Array(contents)
    }

    public static var derName: String { "OBJECT IDENTIFIER" }

    public func serialize(into writer: inout DERWriter) { writer.writeObjectIdentifier(self) }

    private static func appendBase128(_ value: UInt64, to bytes: inout [UInt8]) {
        var groups: [UInt8] = [UInt8(value & 0x7f)]
        var rest = value >> 7
        while rest > 0 {
            groups.insert(UInt8(rest & 0x7f) | 0x80, at: 0)
            rest >>= 7
        }
        bytes.append(contentsOf: groups)
    }

    /// Dotted form, e.g. "1.2.840.113549.1.1.11".
    public var dotted: String {
        var arcs: [UInt64] = []
        var value: UInt64 = 0
        for byte in der {
            // An arc from outside may be longer than 64 bits: shown as its low bits, never a trap.
            value = value &<< 7 | UInt64(byte & 0x7f)
            if byte & 0x80 == 0 {
                arcs.append(value)
                value = 0
            }
        }
        guard let first = arcs.first else { return "" }
        let top: UInt64 = first < 40 ? 0 : (first < 80 ? 1 : 2)
        var text = "\(top).\(first - top * 40)"
        for arc in arcs.dropFirst() { text += ".\(arc)" }
        return text
    }

    /// The registered name when we know one, else the dotted form: error messages stay readable.
    public var description: String { OID.name(of: self) ?? dotted }
}
