import Encoding

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
            what = "expected tag 0x\(Hex.encode([expected])), found 0x\(Hex.encode([found]))"
        case .trailingData: what = "unexpected data after the end"
        case .tooDeep: what = "nesting too deep"
        case .badValue(let detail): what = detail
        }
        return "malformed \(context): \(what)"
    }
}
