/// The single-byte DER tags SCEP meets. High tag numbers (>= 31) never occur in SCEP, CMS or
/// X.509 as used here, so the reader refuses them rather than carry code for them.
public enum DERTag {
    public static let boolean: UInt8 = 0x01
    public static let integer: UInt8 = 0x02
    public static let bitString: UInt8 = 0x03
    public static let octetString: UInt8 = 0x04
    public static let null: UInt8 = 0x05
    public static let objectIdentifier: UInt8 = 0x06
    public static let utf8String: UInt8 = 0x0c
    public static let printableString: UInt8 = 0x13
    public static let t61String: UInt8 = 0x14
    public static let ia5String: UInt8 = 0x16
    public static let utcTime: UInt8 = 0x17
    public static let generalizedTime: UInt8 = 0x18
    public static let universalString: UInt8 = 0x1c
    public static let bmpString: UInt8 = 0x1e
    public static let sequence: UInt8 = 0x30
    public static let set: UInt8 = 0x31

    /// [n] EXPLICIT, or IMPLICIT over a constructed type.
    public static func contextConstructed(_ number: UInt8) -> UInt8 { 0xa0 | number }
    /// [n] IMPLICIT over a primitive type.
    public static func contextPrimitive(_ number: UInt8) -> UInt8 { 0x80 | number }
}
