import Encoding

/// Why DER parsing failed, and where.
///
/// The place is found, not written by hand: `offset` is where the failing element starts in the
/// input (readers are slices of one buffer, so their indices are absolute), and `path` lists the
/// structures being decoded, outermost first, as each `DERParseable` type on the way out adds its
/// name. A bad reply is then diagnosable from one log line:
/// `SignedData > SignerInfo > AlgorithmIdentifier: expected tag 0x06, found 0x05 (byte 1234)`.
public struct DERError: Error, Equatable, Sendable, CustomStringConvertible {
    public enum Reason: Equatable, Sendable {
        case truncated
        /// BER's indefinite length (0x80), which DER forbids.
        case indefiniteLength
        /// A length in the long form that fits a shorter one, or with leading zero octets.
        case nonMinimalLength
        /// More length octets than any element here can need, or a length past the input.
        case lengthTooLarge
        /// A tag number of 31 or more (never used by X.509, CMS or SCEP).
        case highTagNumber
        case unexpectedTag(expected: UInt8, found: UInt8)
        case trailingData
        case tooDeep
        case notConstructed
        case invalid(Invalid)
    }

    /// A value whose encoding is not what its type allows.
    public enum Invalid: Equatable, Sendable {
        case emptyInteger
        case integerOutOfRange
        case negativeInteger
        case bitStringPadding
        case boolean
        case objectIdentifier
        case time
        case bmpString
        case null
        case version(Int)
        case signatureAlgorithmsDisagree
        case emptySet
        case multiValuedAttribute
        case duplicateExtension
        case tooMany
        case missingSignedAttributes
        case missingParameters
    }

    public let reason: Reason
    /// Where the element that failed starts, counted in bytes from the start of the input.
    public let offset: Int
    /// The structures being decoded when it failed, outermost first.
    public private(set) var path: [String] = []

    public init(_ reason: Reason, at offset: Int) {
        self.reason = reason
        self.offset = offset
    }

    /// The same error, as seen from the structure `name` that contains the failing part.
    public func inside(_ name: String) -> DERError {
        var copy = self
        if copy.path.first != name { copy.path.insert(name, at: 0) }
        return copy
    }

    public var description: String {
        let place = path.isEmpty ? "" : path.joined(separator: " > ") + ": "
        return "\(place)\(reasonText) (byte \(offset))"
    }

    var reasonText: String {
        switch reason {
        case .truncated: "truncated"
        case .indefiniteLength: "indefinite length (BER, not DER)"
        case .nonMinimalLength: "length not minimally encoded"
        case .lengthTooLarge: "invalid length"
        case .highTagNumber: "unsupported tag"
        case .unexpectedTag(let expected, let found): "expected tag 0x\(Hex.encode([expected])), found 0x\(Hex.encode([found]))"
        case .trailingData: "unexpected data after the end"
        case .tooDeep: "nesting too deep"
        case .notConstructed: "expected a constructed element"
        case .invalid(let value): value.text
        }
    }
}

extension DERError.Invalid {
    var text: String {
        switch self {
        case .emptyInteger: "empty INTEGER"
        case .integerOutOfRange: "INTEGER out of range"
        case .negativeInteger: "negative INTEGER"
        case .bitStringPadding: "BIT STRING with unused bits"
        case .boolean: "invalid BOOLEAN"
        case .objectIdentifier: "invalid OBJECT IDENTIFIER"
        case .time: "invalid time"
        case .bmpString: "odd-length BMPString"
        case .null: "NULL with contents"
        case .version(let number): "unknown version \(number)"
        case .signatureAlgorithmsDisagree: "the signature algorithms disagree"
        case .emptySet: "empty SET"
        case .multiValuedAttribute: "attribute with more than one value"
        case .duplicateExtension: "the same extension twice"
        case .tooMany: "more elements than allowed"
        case .missingSignedAttributes: "no signed attributes"
        case .missingParameters: "algorithm parameters missing"
        }
    }
}
