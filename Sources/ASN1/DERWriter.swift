import Encoding

/// DER serialization into one growing buffer.
///
/// A constructed element is written by appending its tag, letting `body` write the contents
/// after it, and then inserting the length, which is only known at the end; nothing is built as
/// a nested array and concatenated. SCEP messages are a few kilobytes, so the shift the insertion
/// costs is cheap. Lengths are always computed, never guessed, so the output is valid DER by
/// construction.
///
/// A writer that will hold a secret (a request carrying the challenge) is made with enough
/// capacity up front, so the buffer never moves and leaves no copy behind, and is wiped by its
/// owner after use.
public struct DERWriter {
    public private(set) var bytes: [UInt8] = []

    public init() {}

    public init(reservingCapacity capacity: Int) {
        bytes.reserveCapacity(capacity)
    }

    /// Zeroes the buffer in place (for encodings that held a secret).
    public mutating func wipe() {
        for index in bytes.indices { bytes[index] = 0 }
    }

    // MARK: Elements

    @inline(never)
    public mutating func writePrimitive<Bytes: Collection>(_ tag: UInt8, _ contents: Bytes) where Bytes.Element == UInt8 {
        bytes.append(tag)
        appendLength(contents.count)
        bytes.append(contentsOf: contents)
    }

    /// A constructed element whose contents `body` writes. Not inlined: one copy serves every
    /// structure, which keeps the small binaries small.
    @inline(never)
    public mutating func writeConstructed(_ tag: UInt8, _ body: (inout DERWriter) -> Void) {
        bytes.append(tag)
        let contentStart = bytes.count
        body(&self)
        let length = bytes.count - contentStart
        if length < 0x80 {
            bytes.insert(UInt8(length), at: contentStart)
        } else {
            var octets: [UInt8] = []
            DERWriter.appendLength(length, to: &octets)
            bytes.insert(contentsOf: octets, at: contentStart)
        }
    }

    public mutating func writeSequence(_ body: (inout DERWriter) -> Void) {
        writeConstructed(DERTag.sequence, body)
    }

    /// [n] EXPLICIT around what `body` writes.
    public mutating func writeExplicit(_ number: UInt8, _ body: (inout DERWriter) -> Void) {
        writeConstructed(DERTag.contextConstructed(number), body)
    }

    /// An element that is already DER (a certificate, a name, a signed structure).
    public mutating func writeEncoded<Bytes: Collection>(_ encoded: Bytes) where Bytes.Element == UInt8 {
        bytes.append(contentsOf: encoded)
    }

    public mutating func write<Value: DERSerializable>(_ value: Value) {
        value.serialize(into: &self)
    }

    /// SET OF: DER orders the members by their encodings (X.690 11.6). Signed attributes are a
    /// SET OF, and a verifier that re-encodes them will only agree with a sorted set. `tag` other
    /// than SET serves IMPLICIT-tagged sets, such as CMS's signedAttrs [0].
    public mutating func writeSetOf(_ members: [[UInt8]], tag: UInt8 = DERTag.set) {
        let sorted = members.insertionSorted(by: DERWriter.lexicographicallyPrecedes)
        writeConstructed(tag) { writer in
            for member in sorted { writer.writeEncoded(member) }
        }
    }

    public mutating func writeSetOf<Member: DERSerializable>(_ members: [Member], tag: UInt8 = DERTag.set) {
        writeSetOf(members.map { $0.derEncoded }, tag: tag)
    }

    static func lexicographicallyPrecedes(_ lhs: [UInt8], _ rhs: [UInt8]) -> Bool {
        for (left, right) in zip(lhs, rhs) where left != right { return left < right }
        return lhs.count < rhs.count
    }

    // MARK: Primitive values

    public mutating func writeNull() { bytes.append(contentsOf: [DERTag.null, 0]) }

    public mutating func writeBoolean(_ value: Bool) { bytes.append(contentsOf: [DERTag.boolean, 1, value ? 0xff : 0]) }

    public mutating func writeObjectIdentifier(_ identifier: ObjectIdentifier) {
        writePrimitive(DERTag.objectIdentifier, identifier.der)
    }

    public mutating func writeInteger(_ value: Int) {
        precondition(value >= 0, "only non-negative INTEGERs are written")
        var magnitude: [UInt8] = []
        var remaining = value
        repeat {
            magnitude.insert(UInt8(remaining & 0xff), at: 0)
            remaining >>= 8
        } while remaining > 0
        writeInteger(unsignedBytes: magnitude)
    }

    /// A non-negative INTEGER from big-endian magnitude bytes, minimally encoded.
    public mutating func writeInteger<Bytes: Collection>(unsignedBytes: Bytes) where Bytes.Element == UInt8 {
        let magnitude = unsignedBytes.drop { $0 == 0 }
        bytes.append(DERTag.integer)
        if magnitude.isEmpty {
            bytes.append(contentsOf: [1, 0])
        } else if magnitude.first! & 0x80 != 0 {
            appendLength(magnitude.count + 1)
            bytes.append(0)
            bytes.append(contentsOf: magnitude)
        } else {
            appendLength(magnitude.count)
            bytes.append(contentsOf: magnitude)
        }
    }

    /// An INTEGER whose content octets are already encoded (a serial number read from a certificate).
    public mutating func writeInteger<Bytes: Collection>(encoded: Bytes) where Bytes.Element == UInt8 {
        writePrimitive(DERTag.integer, encoded)
    }

    public mutating func writeOctetString<Bytes: Collection>(_ contents: Bytes) where Bytes.Element == UInt8 {
        writePrimitive(DERTag.octetString, contents)
    }

    /// A BIT STRING of whole bytes (keys, signatures).
    public mutating func writeBitString<Bytes: Collection>(_ contents: Bytes) where Bytes.Element == UInt8 {
        bytes.append(DERTag.bitString)
        appendLength(contents.count + 1)
        bytes.append(0)
        bytes.append(contentsOf: contents)
    }

    /// A BIT STRING whose last byte has `unusedBits` padding bits (named bit lists such as keyUsage).
    public mutating func writeBitString(_ contents: [UInt8], unusedBits: UInt8) {
        writePrimitive(DERTag.bitString, [unusedBits] + contents)
    }

    public mutating func writePrintableString(_ text: String) { writePrimitive(DERTag.printableString, text.utf8) }
    public mutating func writeUTF8String(_ text: String) { writePrimitive(DERTag.utf8String, text.utf8) }
    public mutating func writeIA5String(_ text: String) { writePrimitive(DERTag.ia5String, text.utf8) }

    // MARK: Lengths

    private mutating func appendLength(_ length: Int) {
        DERWriter.appendLength(length, to: &bytes)
    }

    static func appendLength(_ length: Int, to bytes: inout [UInt8]) {
        if length < 0x80 {
            bytes.append(UInt8(length))
            return
        }
        var count = 0
        var value = length
        while value > 0 {
            count += 1
            value >>= 8
        }
        bytes.append(0x80 | UInt8(count))
        for index in stride(from: count - 1, through: 0, by: -1) { bytes.append(UInt8((length >> (index * 8)) & 0xff)) }
    }

    /// Whether `text` fits PrintableString (X.680 41.4), which SCEP's attributes require.
    public static func isPrintable(_ text: String) -> Bool {
        text.utf8.allSatisfy(isPrintableCharacter)
    }

    public static func isPrintableCharacter(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
             UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: " "), UInt8(ascii: "'"),
             UInt8(ascii: "("), UInt8(ascii: ")"), UInt8(ascii: "+"), UInt8(ascii: ","),
             UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "/"), UInt8(ascii: ":"),
             UInt8(ascii: "="), UInt8(ascii: "?"):
            true
        default:
            false
        }
    }
}

/// Encodes one value on its own: `DER.encode { $0.writeInteger(3) }`.
public enum DER {
    @inline(never)
    public static func encode(_ body: (inout DERWriter) -> Void) -> [UInt8] {
        var writer = DERWriter()
        body(&writer)
        return writer.bytes
    }
}
