/// One decoded TLV: its tag, its contents, and its whole encoding (signatures cover encodings,
/// so parsers keep them).
public struct DERElement {
    public let tag: UInt8
    public let contents: ArraySlice<UInt8>
    public let encoded: ArraySlice<UInt8>
    let depth: Int

    public var isConstructed: Bool { tag & 0x20 != 0 }

    /// A reader over this element's contents, one level deeper.
    @inline(never)
    public func reader(_ context: String) throws(DERError) -> DERReader {
        guard isConstructed else { throw DERError(.badValue("expected a constructed element"), context) }
        return try DERReader(contents, context: context, depth: depth + 1)
    }
}

/// A bounded DER reader over a byte slice.
///
/// It never allocates on behalf of its input: elements are slices of the buffer. Every length is
/// checked against what remains, only definite lengths of at most 4 bytes are accepted, and
/// nesting deeper than `maximumDepth` is refused, so no input can make it crash, loop or recurse
/// without bound.
public struct DERReader {
    public static let maximumDepth = 32

    private var remaining: ArraySlice<UInt8>
    public let context: String
    let depth: Int

    public init(_ bytes: ArraySlice<UInt8>, context: String, depth: Int = 0) throws(DERError) {
        guard depth <= DERReader.maximumDepth else { throw DERError(.tooDeep, context) }
        self.remaining = bytes
        self.context = context
        self.depth = depth
    }

    public init(_ bytes: [UInt8], context: String) throws(DERError) {
        try self.init(bytes[...], context: context)
    }

    public var isAtEnd: Bool { remaining.isEmpty }

    /// The tag of the next element, without consuming it.
    public var nextTag: UInt8? { remaining.first }

    /// Reads the next element, whatever its tag.
    @inline(never)
    public mutating func read() throws(DERError) -> DERElement {
        let start = remaining.startIndex
        guard let tag = remaining.first else { throw DERError(.truncated, context) }
        guard tag & 0x1f != 0x1f else { throw DERError(.unsupportedTag, context) }
        var index = start + 1
        guard index < remaining.endIndex else { throw DERError(.truncated, context) }
        let first = remaining[index]
        index += 1
        var length = 0
        if first < 0x80 {
            length = Int(first)
        } else {
            let count = Int(first & 0x7f)
            // 0x80 is BER's indefinite length: not DER. More than 4 length bytes is never needed.
            guard count >= 1 && count <= 4 else { throw DERError(.badLength, context) }
            guard remaining.endIndex - index >= count else { throw DERError(.truncated, context) }
            for _ in 0..<count {
                length = length << 8 | Int(remaining[index])
                index += 1
            }
        }
        guard length <= remaining.endIndex - index else { throw DERError(.truncated, context) }
        let end = index + length
        let element = DERElement(tag: tag, contents: remaining[index..<end], encoded: remaining[start..<end],
                                 depth: depth)
        remaining = remaining[end...]
        return element
    }

    /// Reads the next element and checks its tag.
    @inline(never)
    public mutating func read(_ tag: UInt8) throws(DERError) -> DERElement {
        guard let found = nextTag else { throw DERError(.truncated, context) }
        guard found == tag else { throw DERError(.unexpectedTag(expected: tag, found: found), context) }
        return try read()
    }

    /// Reads the next element only when it carries `tag` (OPTIONAL and DEFAULT fields).
    @inline(never)
    public mutating func readIfPresent(_ tag: UInt8) throws(DERError) -> DERElement? {
        guard nextTag == tag else { return nil }
        return try read()
    }

    /// Reads a constructed element with `tag` and returns a reader over its contents.
    @inline(never)
    public mutating func enter(_ tag: UInt8, _ context: String) throws(DERError) -> DERReader {
        try read(tag).reader(context)
    }

    @inline(never)
    public mutating func enterSequence(_ context: String) throws(DERError) -> DERReader {
        try enter(DERTag.sequence, context)
    }

    /// Fails unless everything has been read: trailing bytes are a sign of a confused parse.
    @inline(never)
    public func finish() throws(DERError) {
        guard remaining.isEmpty else { throw DERError(.trailingData, context) }
    }

    // MARK: Primitive values

    @inline(never)
    public mutating func readObjectIdentifier() throws(DERError) -> ObjectIdentifier {
        let element = try read(DERTag.objectIdentifier)
        return try ObjectIdentifier(der: element.contents, context: context)
    }

    /// An INTEGER's two's-complement content octets, as encoded (serial numbers stay bytes).
    @inline(never)
    public mutating func readIntegerBytes() throws(DERError) -> ArraySlice<UInt8> {
        let element = try read(DERTag.integer)
        guard !element.contents.isEmpty else { throw DERError(.badValue("empty INTEGER"), context) }
        return element.contents
    }

    /// A small non-negative INTEGER (versions, key sizes).
    @inline(never)
    public mutating func readSmallInteger() throws(DERError) -> Int {
        let bytes = try readIntegerBytes()
        guard bytes.count <= 4, let first = bytes.first, first & 0x80 == 0 else {
            throw DERError(.badValue("INTEGER out of range"), context)
        }
        var value = 0
        for byte in bytes { value = value << 8 | Int(byte) }
        return value
    }

    @inline(never)
    public mutating func readOctetString() throws(DERError) -> ArraySlice<UInt8> {
        try read(DERTag.octetString).contents
    }

    /// A BIT STRING with no unused bits (keys and signatures are always whole bytes).
    @inline(never)
    public mutating func readBitStringBytes() throws(DERError) -> ArraySlice<UInt8> {
        let contents = try read(DERTag.bitString).contents
        guard let unused = contents.first, unused == 0 else {
            throw DERError(.badValue("BIT STRING with unused bits"), context)
        }
        return contents.dropFirst()
    }

    @inline(never)
    public mutating func readBoolean() throws(DERError) -> Bool {
        let contents = try read(DERTag.boolean).contents
        guard contents.count == 1 else { throw DERError(.badValue("BOOLEAN of wrong size"), context) }
        return contents.first != 0
    }

    /// Any of the string types a Name or attribute uses, as text. Invalid UTF-8 is replaced, never
    /// trusted: these strings are only ever shown or compared.
    @inline(never)
    public mutating func readString() throws(DERError) -> String {
        let element = try read()
        switch element.tag {
        case DERTag.utf8String, DERTag.printableString, DERTag.ia5String, DERTag.t61String:
            return String(decoding: element.contents, as: UTF8.self)
        case DERTag.bmpString:
            guard element.contents.count % 2 == 0 else { throw DERError(.badValue("odd BMPString"), context) }
            var units: [UInt16] = []
            var index = element.contents.startIndex
            while index < element.contents.endIndex {
                units.append(UInt16(element.contents[index]) << 8 | UInt16(element.contents[index + 1]))
                index += 2
            }
            return String(decoding: units, as: UTF16.self)
        default:
            throw DERError(.unexpectedTag(expected: DERTag.utf8String, found: element.tag), context)
        }
    }
}
