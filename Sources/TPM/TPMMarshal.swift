/// TPM 2.0 wire encoding (TPM 2.0 Part 1, "Marshalling"): big-endian integers, and sized
/// buffers (`TPM2B_*`) as a 16-bit length and that many bytes. Nothing else is needed for the
/// structures the agent sends and reads.
struct TPMWriter {
    private(set) var bytes: [UInt8] = []

    mutating func u8(_ value: UInt8) { bytes.append(value) }

    mutating func u16(_ value: UInt16) {
        bytes.append(UInt8(truncatingIfNeeded: value >> 8))
        bytes.append(UInt8(truncatingIfNeeded: value))
    }

    mutating func u32(_ value: UInt32) {
        u16(UInt16(truncatingIfNeeded: value >> 16))
        u16(UInt16(truncatingIfNeeded: value))
    }

    /// A `TPM2B_*`: callers keep `contents` within the structure's maximum, which is always far
    /// below 65,535 bytes.
    mutating func sized<Bytes: Collection>(_ contents: Bytes) where Bytes.Element == UInt8 {
        u16(UInt16(truncatingIfNeeded: contents.count))
        bytes.append(contentsOf: contents)
    }

    /// A `TPM2B_*` wrapping a structure (`TPM2B_PUBLIC`, `TPM2B_SENSITIVE_CREATE`).
    mutating func sized(_ body: (inout TPMWriter) -> Void) {
        var inner = TPMWriter()
        body(&inner)
        sized(inner.bytes)
    }

    mutating func append(_ raw: [UInt8]) { bytes.append(contentsOf: raw) }
}

/// Reads what a TPM (or whatever answers on its port) sent, never past the end: each read checks
/// the bytes left first, and each error names the field that did not fit.
struct TPMReader {
    private let bytes: [UInt8]
    private var offset: Int
    private let end: Int

    init(_ bytes: [UInt8]) {
        self.bytes = bytes
        offset = 0
        end = bytes.count
    }

    private init(_ bytes: [UInt8], offset: Int, end: Int) {
        self.bytes = bytes
        self.offset = offset
        self.end = end
    }

    var remaining: Int { end - offset }
    var isAtEnd: Bool { offset == end }

    mutating func raw(_ count: Int, _ field: StaticString) throws(TPMError) -> [UInt8] {
        guard count >= 0, count <= remaining else { throw TPMError(.malformed(field)) }
        defer { offset += count }
        return Array(bytes[offset..<(offset + count)])
    }

    mutating func u8(_ field: StaticString) throws(TPMError) -> UInt8 {
        guard remaining >= 1 else { throw TPMError(.malformed(field)) }
        defer { offset += 1 }
        return bytes[offset]
    }

    mutating func u16(_ field: StaticString) throws(TPMError) -> UInt16 {
        guard remaining >= 2 else { throw TPMError(.malformed(field)) }
        defer { offset += 2 }
        return UInt16(bytes[offset]) << 8 | UInt16(bytes[offset + 1])
    }

    mutating func u32(_ field: StaticString) throws(TPMError) -> UInt32 {
        let high = try u16(field)
        return UInt32(high) << 16 | UInt32(try u16(field))
    }

    /// A `TPM2B_*`'s contents, refused when longer than `maximum` (the structure's own limit).
    mutating func sized(_ field: StaticString, maximum: Int) throws(TPMError) -> [UInt8] {
        let count = Int(try u16(field))
        guard count <= maximum else { throw TPMError(.malformed(field)) }
        return try raw(count, field)
    }

    /// A reader over the next `count` bytes only (a parameter area, a `TPM2B` structure).
    mutating func sub(_ count: Int, _ field: StaticString) throws(TPMError) -> TPMReader {
        guard count >= 0, count <= remaining else { throw TPMError(.malformed(field)) }
        defer { offset += count }
        return TPMReader(bytes, offset: offset, end: offset + count)
    }

    func expectEnd(_ field: StaticString) throws(TPMError) {
        guard isAtEnd else { throw TPMError(.malformed(field)) }
    }
}
