/// One decoded TLV: its tag, its contents, and its whole encoding (signatures cover encodings,
/// so parsers keep them). Both are slices of the input, so their indices are input offsets.
public struct DERElement {
    public let tag: UInt8
    public let contents: ArraySlice<UInt8>
    public let encoded: ArraySlice<UInt8>
    let depth: Int

    public var isConstructed: Bool { tag & 0x20 != 0 }

    /// Where this element starts in the input.
    public var offset: Int { encoded.startIndex }

    /// A reader over this element's contents, one level deeper.
    @inline(never)
    public func reader() throws(DERError) -> DERReader {
        guard isConstructed else { throw DERError(.notConstructed, at: offset) }
        return try DERReader(contents, depth: depth + 1)
    }

    /// Checks the tag, then reads the contents with `body`, which must consume all of them.
    @inline(never)
    public func withContents<Value>(of expected: UInt8,
                                    _ body: (inout DERReader) throws(DERError) -> Value) throws(DERError) -> Value {
        guard tag == expected else { throw DERError(.unexpectedTag(expected: expected, found: tag), at: offset) }
        var fields = try reader()
        let value = try body(&fields)
        try fields.finish()
        return value
    }

    /// A SEQUENCE's fields, read by `body`, which must consume all of them.
    @inline(never)
    public func sequence<Value>(_ body: (inout DERReader) throws(DERError) -> Value) throws(DERError) -> Value {
        try withContents(of: DERTag.sequence, body)
    }
}

/// A bounded DER reader over a byte slice.
///
/// It never allocates on behalf of its input: elements are slices of the buffer. Lengths are
/// read with checked arithmetic into a 64-bit value and compared with what remains, so a length
/// such as `84 ff ff ff f0` is refused on a 32-bit device exactly as on a 64-bit one. Only the
/// minimal definite form DER allows is accepted (no indefinite lengths, no padded long forms, at
/// most 4 length octets), and nesting deeper than `maximumDepth` is refused, so no input can make
/// it crash, loop or recurse without bound.
public struct DERReader {
    public static let maximumDepth = 32

    private var remaining: ArraySlice<UInt8>
    let depth: Int

    public init(_ bytes: ArraySlice<UInt8>, depth: Int = 0) throws(DERError) {
        guard depth <= DERReader.maximumDepth else { throw DERError(.tooDeep, at: bytes.startIndex) }
        self.remaining = bytes
        self.depth = depth
    }

    public init(_ bytes: [UInt8]) {
        remaining = bytes[...]
        depth = 0
    }

    public var isAtEnd: Bool { remaining.isEmpty }

    /// Where the next element starts in the input.
    public var offset: Int { remaining.startIndex }

    /// The tag of the next element, without consuming it.
    public var nextTag: UInt8? { remaining.first }

    /// Reads the next element, whatever its tag.
    @inline(never)
    public mutating func read() throws(DERError) -> DERElement {
        let start = remaining.startIndex
        guard let tag = remaining.first else { throw DERError(.truncated, at: start) }
        guard tag & 0x1f != 0x1f else { throw DERError(.highTagNumber, at: start) }
        var index = start + 1
        guard index < remaining.endIndex else { throw DERError(.truncated, at: start) }
        let first = remaining[index]
        index += 1
        var length: UInt64 = 0
        if first < 0x80 {
            length = UInt64(first)
        } else {
            let count = Int(first & 0x7f)
            guard count != 0 else { throw DERError(.indefiniteLength, at: start) }
            guard count <= 4 else { throw DERError(.lengthTooLarge, at: start) }
            guard remaining.endIndex - index >= count else { throw DERError(.truncated, at: start) }
            guard remaining[index] != 0 else { throw DERError(.nonMinimalLength, at: start) }
            for _ in 0..<count {
                length = length << 8 | UInt64(remaining[index])
                index += 1
            }
            guard length >= 0x80 else { throw DERError(.nonMinimalLength, at: start) }
        }
        // Compared as 64-bit values: on a 32-bit target a four-octet length may not fit an Int.
        guard length <= UInt64(remaining.endIndex - index) else { throw DERError(.truncated, at: start) }
        let end = index + Int(length)
        let element = DERElement(tag: tag, contents: remaining[index..<end], encoded: remaining[start..<end], depth: depth)
        remaining = remaining[end...]
        return element
    }

    /// Reads the next element and checks its tag.
    @inline(never)
    public mutating func read(_ tag: UInt8) throws(DERError) -> DERElement {
        guard let found = nextTag else { throw DERError(.truncated, at: offset) }
        guard found == tag else { throw DERError(.unexpectedTag(expected: tag, found: found), at: offset) }
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
    public mutating func enter(_ tag: UInt8) throws(DERError) -> DERReader {
        try read(tag).reader()
    }

    @inline(never)
    public mutating func enterSequence() throws(DERError) -> DERReader {
        try enter(DERTag.sequence)
    }

    /// Fails unless everything has been read: trailing bytes are a sign of a confused parse.
    @inline(never)
    public func finish() throws(DERError) {
        guard remaining.isEmpty else { throw DERError(.trailingData, at: offset) }
    }

    // MARK: Primitive values

    @inline(never)
    public mutating func readObjectIdentifier() throws(DERError) -> ObjectIdentifier {
        try ObjectIdentifier(derElement: try read(DERTag.objectIdentifier))
    }

    /// An INTEGER's two's-complement content octets, as encoded (serial numbers stay bytes).
    @inline(never)
    public mutating func readIntegerBytes() throws(DERError) -> ArraySlice<UInt8> {
        let element = try read(DERTag.integer)
        guard !element.contents.isEmpty else { throw DERError(.invalid(.emptyInteger), at: element.offset) }
        return element.contents
    }

    /// A small non-negative INTEGER (versions, counts, path lengths): at most 31 bits, so it
    /// fits an `Int` on every target.
    @inline(never)
    public mutating func readSmallInteger() throws(DERError) -> Int {
        let start = offset
        let bytes = try readIntegerBytes()
        guard let first = bytes.first, first & 0x80 == 0 else { throw DERError(.invalid(.negativeInteger), at: start) }
        let significant = bytes.drop { $0 == 0 }
        guard significant.count <= 4, significant.count < 4 || significant.first! & 0x80 == 0 else {
            throw DERError(.invalid(.integerOutOfRange), at: start)
        }
        var value = 0
        for byte in significant { value = value << 8 | Int(byte) }
        return value
    }

    @inline(never)
    public mutating func readOctetString() throws(DERError) -> ArraySlice<UInt8> {
        try read(DERTag.octetString).contents
    }

    /// A BIT STRING with no unused bits (keys and signatures are always whole bytes).
    @inline(never)
    public mutating func readBitStringBytes() throws(DERError) -> ArraySlice<UInt8> {
        let element = try read(DERTag.bitString)
        guard let unused = element.contents.first, unused == 0 else {
            throw DERError(.invalid(.bitStringPadding), at: element.offset)
        }
        return element.contents.dropFirst()
    }

    /// A BOOLEAN. DER writes TRUE as 0xff; any non-zero octet is read as TRUE, as the
    /// certificates of some CAs write 0x01 and the value is never re-encoded here.
    @inline(never)
    public mutating func readBoolean() throws(DERError) -> Bool {
        let element = try read(DERTag.boolean)
        guard element.contents.count == 1 else { throw DERError(.invalid(.boolean), at: element.offset) }
        return element.contents.first != 0
    }

    @inline(never)
    public mutating func readNull() throws(DERError) {
        let element = try read(DERTag.null)
        guard element.contents.isEmpty else { throw DERError(.invalid(.null), at: element.offset) }
    }

    /// Any of the string types a Name or attribute uses, as text. Invalid UTF-8 is replaced, never
    /// trusted: these strings are only ever shown or compared.
    @inline(never)
    public mutating func readString() throws(DERError) -> String {
        try DERString.text(of: try read())
    }

    // MARK: Types

    /// The next element, decoded as `T`; an error inside it names `T` in its path.
    @inline(never)
    public mutating func decode<T: DERParseable>(_ type: T.Type = T.self) throws(DERError) -> T {
        try T.decode(try read())
    }

    /// `T` when the next element carries `tag`, else nil.
    public mutating func decodeIfPresent<T: DERParseable>(_ type: T.Type = T.self, tag: UInt8) throws(DERError) -> T? {
        guard nextTag == tag else { return nil }
        return try decode(type)
    }

    /// Every remaining element, each decoded as `T` (the members of a SET OF or SEQUENCE OF).
    public mutating func decodeAll<T: DERParseable>(_ type: T.Type = T.self) throws(DERError) -> [T] {
        var values: [T] = []
        while !isAtEnd { values.append(try decode(type)) }
        return values
    }
}

/// The character string types of names and attributes.
public enum DERString {
    public static func text(of element: DERElement) throws(DERError) -> String {
        switch element.tag {
        case DERTag.utf8String, DERTag.printableString, DERTag.ia5String, DERTag.t61String:
            return String(decoding: element.contents, as: UTF8.self)
        case DERTag.bmpString:
            guard element.contents.count % 2 == 0 else { throw DERError(.invalid(.bmpString), at: element.offset) }
            var units: [UInt16] = []
            units.reserveCapacity(element.contents.count / 2)
            var index = element.contents.startIndex
            while index < element.contents.endIndex {
                units.append(UInt16(element.contents[index]) << 8 | UInt16(element.contents[index + 1]))
                index += 2
            }
            return String(decoding: units, as: UTF16.self)
        default:
            throw DERError(.unexpectedTag(expected: DERTag.utf8String, found: element.tag), at: element.offset)
        }
    }
}
