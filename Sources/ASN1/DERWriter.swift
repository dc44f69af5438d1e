/// DER serialization: small functions that each return one complete TLV, composed by nesting.
///
/// SCEP messages are a few kilobytes, so building by concatenation is simple and cheap; lengths
/// are always computed, never guessed, so the output is valid DER by construction.
public enum DER {
    public static func tlv(_ tag: UInt8, _ contents: [UInt8]) -> [UInt8] {
        var encoded: [UInt8] = [tag]
        encoded.reserveCapacity(contents.count + 6)
        appendLength(contents.count, to: &encoded)
        encoded.append(contentsOf: contents)
        return encoded
    }

    public static func tlv(_ tag: UInt8, _ parts: [[UInt8]]) -> [UInt8] {
        tlv(tag, parts.flatMap { $0 })
    }

    static func appendLength(_ length: Int, to bytes: inout [UInt8]) {
        if length < 0x80 {
            bytes.append(UInt8(length))
            return
        }
        var octets: [UInt8] = []
        var value = length
        while value > 0 {
            octets.insert(UInt8(value & 0xff), at: 0)
            value >>= 8
        }
        bytes.append(0x80 | UInt8(octets.count))
        bytes.append(contentsOf: octets)
    }

    public static func sequence(_ parts: [[UInt8]]) -> [UInt8] { tlv(DERTag.sequence, parts) }

    /// SET OF: DER orders the members by their encodings (X.690 11.6). Signed attributes are a
    /// SET OF, and a verifier that re-encodes them will only agree with a sorted set.
    /// `tag` other than SET serves IMPLICIT-tagged sets, such as CMS's signedAttrs [0].
    public static func setOf(_ members: [[UInt8]], tag: UInt8 = DERTag.set) -> [UInt8] {
        tlv(tag, members.sorted { lexicographicallyPrecedes($0, $1) })
    }

    static func lexicographicallyPrecedes(_ lhs: [UInt8], _ rhs: [UInt8]) -> Bool {
        for (left, right) in zip(lhs, rhs) where left != right { return left < right }
        return lhs.count < rhs.count
    }

    public static func explicit(_ number: UInt8, _ inner: [UInt8]) -> [UInt8] {
        tlv(DERTag.contextConstructed(number), inner)
    }

    public static func null() -> [UInt8] { [DERTag.null, 0] }

    public static func boolean(_ value: Bool) -> [UInt8] { [DERTag.boolean, 1, value ? 0xff : 0] }

    public static func objectIdentifier(_ identifier: ObjectIdentifier) -> [UInt8] {
        tlv(DERTag.objectIdentifier, identifier.der)
    }

    public static func integer(_ value: Int) -> [UInt8] {
        precondition(value >= 0, "only non-negative INTEGERs are written")
        var bytes: [UInt8] = []
        var remaining = value
        repeat {
            bytes.insert(UInt8(remaining & 0xff), at: 0)
            remaining >>= 8
        } while remaining > 0
        return integer(unsignedBytes: bytes)
    }

    /// A non-negative INTEGER from big-endian magnitude bytes, minimally encoded.
    public static func integer<Bytes: Collection>(unsignedBytes: Bytes) -> [UInt8] where Bytes.Element == UInt8 {
        var magnitude = Array(unsignedBytes.drop { $0 == 0 })
        if magnitude.isEmpty { magnitude = [0] }
        if magnitude[0] & 0x80 != 0 { magnitude.insert(0, at: 0) }
        return tlv(DERTag.integer, magnitude)
    }

    /// An INTEGER whose content octets are already encoded (a serial number read from a certificate).
    public static func integer(encoded: ArraySlice<UInt8>) -> [UInt8] { tlv(DERTag.integer, Array(encoded)) }

    public static func octetString<Bytes: Collection>(_ bytes: Bytes) -> [UInt8] where Bytes.Element == UInt8 {
        tlv(DERTag.octetString, Array(bytes))
    }

    public static func bitString<Bytes: Collection>(_ bytes: Bytes) -> [UInt8] where Bytes.Element == UInt8 {
        tlv(DERTag.bitString, [0] + Array(bytes))
    }

    public static func printableString(_ text: String) -> [UInt8] { tlv(DERTag.printableString, Array(text.utf8)) }
    public static func utf8String(_ text: String) -> [UInt8] { tlv(DERTag.utf8String, Array(text.utf8)) }
    public static func ia5String(_ text: String) -> [UInt8] { tlv(DERTag.ia5String, Array(text.utf8)) }

    /// Whether `text` fits PrintableString (X.680 41.4), which SCEP's attributes require.
    public static func isPrintable(_ text: String) -> Bool {
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                 UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: " "), UInt8(ascii: "'"),
                 UInt8(ascii: "("), UInt8(ascii: ")"), UInt8(ascii: "+"), UInt8(ascii: ","),
                 UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "/"), UInt8(ascii: ":"),
                 UInt8(ascii: "="), UInt8(ascii: "?"):
                continue
            default:
                return false
            }
        }
        return true
    }
}
