/// A failed cryptographic operation. It names the operation and mbedTLS's error code, never any
/// key material or plaintext.
public struct CryptoError: Error, Equatable, CustomStringConvertible {
    public let operation: String
    /// mbedTLS's negative error code, or 0 when the failure is ours (bad size, unsupported input).
    public let code: Int32

    public init(_ operation: String, code: Int32 = 0) {
        self.operation = operation
        self.code = code
    }

    public var description: String {
        guard code != 0 else { return operation }
        return "\(operation) (mbedTLS error -0x\(hex(UInt32(-Int64(code)))))"
    }
}

func hex(_ value: UInt32) -> String {
    let digits: [UInt8] = Array("0123456789abcdef".utf8)
    var text: [UInt8] = []
    var rest = value
    repeat {
        text.insert(digits[Int(rest & 0xf)], at: 0)
        rest >>= 4
    } while rest > 0
    while text.count < 4 { text.insert(UInt8(ascii: "0"), at: 0) }
    return String(decoding: text, as: UTF8.self)
}

/// Runs an mbedTLS call and turns a non-zero result into a `CryptoError`.
@inline(__always)
func check(_ operation: String, _ result: Int32) throws(CryptoError) {
    if result != 0 { throw CryptoError(operation, code: result) }
}
