/// Why DER parsing failed, and where: `context` names the structure being read, such as
/// "CertRep.signerInfos", so a bad reply is diagnosable from one log line.
public struct DERError: Error, Equatable, Sendable, CustomStringConvertible {
    public enum Reason: Equatable, Sendable {
        case truncated
        case badLength
        case unsupportedTag
        case unexpectedTag(expected: UInt8, found: UInt8)
        case trailingData
        case tooDeep
        case badValue(String)
    }

    public let reason: Reason
    public let context: String

    public init(_ reason: Reason, _ context: String) {
        self.reason = reason
        self.context = context
    }

    public var description: String {
        let what: String
        switch reason {
        case .truncated: what = "truncated"
        case .badLength: what = "invalid length"
        case .unsupportedTag: what = "unsupported tag"
        case .unexpectedTag(let expected, let found):
            what = "expected tag 0x\(hexByte(expected)), found 0x\(hexByte(found))"
        case .trailingData: what = "unexpected data after the end"
        case .tooDeep: what = "nesting too deep"
        case .badValue(let detail): what = detail
        }
        return "malformed \(context): \(what)"
    }
}

func hexByte(_ byte: UInt8) -> String {
    let digits: [UInt8] = Array("0123456789abcdef".utf8)
    return String(decoding: [digits[Int(byte >> 4)], digits[Int(byte & 0xf)]], as: UTF8.self)
}
