import Crypto

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
/// the bytes left first, and each error names the field that did not fit. It reads the response
/// where it lies (a `SecretBytes`, wiped after the command), so a content key or a shared secret
/// in it is not copied anywhere but into the value asked for.
struct TPMReader {
    private let storage: SecretBytes
    private var offset: Int
    private let end: Int

    /// Over the first `length` bytes of `storage`.
    init(_ storage: SecretBytes, length: Int) {
        self.storage = storage
        offset = 0
        end = min(max(length, 0), storage.count)
    }

    /// Over bytes that are no secret (a key file's public part).
    init(_ bytes: [UInt8]) { self.init(SecretBytes(bytes), length: bytes.count) }

    private init(_ storage: SecretBytes, offset: Int, end: Int) {
        self.storage = storage
        self.offset = offset
        self.end = end
    }

    var remaining: Int { end - offset }
    var isAtEnd: Bool { offset == end }

    private func byte(_ index: Int) -> UInt8 { storage.withBytes { $0[index] } }

    mutating func raw(_ count: Int, _ field: StaticString) throws(TPMError) -> [UInt8] {
        guard count >= 0, count <= remaining else { throw TPMError(.malformed(field)) }
        defer { offset += count }
        let start = offset
        return storage.withBytes { Array($0[start..<(start + count)]) }
    }

    /// Bytes that are a secret (a content key, an ECDH secret), copied once, into `SecretBytes`.
    mutating func secret(_ count: Int, _ field: StaticString) throws(TPMError) -> SecretBytes {
        guard count >= 0, count <= remaining else { throw TPMError(.malformed(field)) }
        defer { offset += count }
        let start = offset
        let value = SecretBytes(count: count)
        value.withMutableBytes { target in
            storage.withBytes { source in
                for index in 0..<count { target[index] = source[start + index] }
            }
        }
        return value
    }

    mutating func u8(_ field: StaticString) throws(TPMError) -> UInt8 {
        guard remaining >= 1 else { throw TPMError(.malformed(field)) }
        defer { offset += 1 }
        return byte(offset)
    }

    mutating func u16(_ field: StaticString) throws(TPMError) -> UInt16 {
        guard remaining >= 2 else { throw TPMError(.malformed(field)) }
        defer { offset += 2 }
        return UInt16(byte(offset)) << 8 | UInt16(byte(offset + 1))
    }

    mutating func u32(_ field: StaticString) throws(TPMError) -> UInt32 {
        let high = try u16(field)
        return UInt32(high) << 16 | UInt32(try u16(field))
    }

    /// A 32-bit length, refused unless it fits what is left: compared as UInt32, since a 32-bit
    /// Int cannot hold every value a peer may send.
    mutating func length32(_ field: StaticString) throws(TPMError) -> Int {
        let value = try u32(field)
        guard value <= UInt32(remaining) else { throw TPMError(.malformed(field)) }
        return Int(value)
    }

    /// A `TPM2B_*`'s contents, refused when longer than `maximum` (the structure's own limit).
    mutating func sized(_ field: StaticString, maximum: Int) throws(TPMError) -> [UInt8] {
        let count = Int(try u16(field))
        guard count <= maximum else { throw TPMError(.malformed(field)) }
        return try raw(count, field)
    }

    /// A `TPM2B_*` kept whole, its size included, as TPM2_Load and key files take it back.
    mutating func sizedWhole(_ field: StaticString, maximum: Int) throws(TPMError) -> [UInt8] {
        let contents = try sized(field, maximum: maximum)
        return [UInt8(contents.count >> 8), UInt8(contents.count & 0xff)] + contents
    }

    /// A `TPM2B_*` holding a secret.
    mutating func sizedSecret(_ field: StaticString, maximum: Int) throws(TPMError) -> SecretBytes {
        let count = Int(try u16(field))
        guard count <= maximum else { throw TPMError(.malformed(field)) }
        return try secret(count, field)
    }

    /// A reader over the next `count` bytes only (a parameter area, a `TPM2B` structure).
    mutating func sub(_ count: Int, _ field: StaticString) throws(TPMError) -> TPMReader {
        guard count >= 0, count <= remaining else { throw TPMError(.malformed(field)) }
        defer { offset += count }
        return TPMReader(storage, offset: offset, end: offset + count)
    }

    func expectEnd(_ field: StaticString) throws(TPMError) {
        guard isAtEnd else { throw TPMError(.malformed(field)) }
    }
}
