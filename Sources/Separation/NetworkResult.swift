import Agent
import ASN1

/// What a network process reports when its job is done: the last message it sends.
///
/// The key process believes none of it beyond what it can check: a transaction's outcome is
/// taken from the key process's own state (what it committed, what it noted as pending), and
/// certificates are parsed and checked against its own pin.
public enum NetworkResult {
    /// `caps`: the keywords as the server sent them.
    case capabilities([String])
    /// `getca`: the certificates as the server sent them (DER), not yet checked.
    case certificates([[UInt8]])
    /// A transaction ended; `pending` tells which way (the key process knows the details).
    case transaction(pending: Bool)
    /// `nextCA`: GetCACert's certificates and GetNextCACert's answer, unchecked; nil when the
    /// server has no next CA.
    case nextCA(certificates: [[UInt8]], answer: [UInt8]?)
    case failed(AgentFailure.Kind, message: String, serverRefused: Bool)

    /// At most this many keywords or certificates: more than any server sends.
    static let maximumItems = 64

    public func encoded() -> [UInt8] {
        Wire.encode(.result) { writer in
            switch self {
            case .capabilities(let keywords):
                writer.writeInteger(1)
                writer.writeList(keywords.map { Array($0.utf8) })
            case .certificates(let certificates):
                writer.writeInteger(2)
                writer.writeList(certificates)
            case .transaction(let pending):
                writer.writeInteger(3)
                writer.writeBoolean(pending)
            case .nextCA(let certificates, let answer):
                writer.writeInteger(4)
                writer.writeList(certificates)
                writer.writeOptional(answer) { $0.writeOctetString($1) }
            case .failed(let kind, let message, let refused):
                writer.writeInteger(5)
                writer.writeInteger(kind.wireValue)
                writer.writeText(message)
                writer.writeBoolean(refused)
            }
        }
    }

    /// Reads the fields of a `.result` message.
    public init(fields: inout DERReader) throws(DERError) {
        let start = fields.offset
        switch try fields.readSmallInteger() {
        case 1: self = .capabilities(try fields.readList(limit: NetworkResult.maximumItems).map { String(decoding: $0, as: UTF8.self) })
        case 2: self = .certificates(try fields.readList(limit: NetworkResult.maximumItems))
        case 3: self = .transaction(pending: try fields.readBoolean())
        case 4:
            let certificates = try fields.readList(limit: NetworkResult.maximumItems)
            self = .nextCA(certificates: certificates, answer: try fields.readOptional { (reader) throws(DERError) in try reader.readBytes() })
        case 5:
            let kindOffset = fields.offset
            guard let kind = AgentFailure.Kind(wireValue: try fields.readSmallInteger()) else {
                throw DERError(.invalid(.integerOutOfRange), at: kindOffset)
            }
            let message = try fields.readText()
            self = .failed(kind, message: message, serverRefused: try fields.readBoolean())
        default:
            throw DERError(.invalid(.integerOutOfRange), at: start)
        }
        try fields.finish()
    }
}

extension AgentFailure.Kind {
    var wireValue: Int {
        switch self {
        case .configuration: 1
        case .failed: 2
        case .pending: 3
        case .interrupted: 4
        }
    }

    init?(wireValue: Int) {
        switch wireValue {
        case 1: self = .configuration
        case 2: self = .failed
        case 3: self = .pending
        case 4: self = .interrupted
        default: return nil
        }
    }
}
