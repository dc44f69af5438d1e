import Agent
import ASN1
import Crypto
import Platform
import Protocol
import X509

/// The network process's end of the channel to the key process: one request at a time, each
/// answered by a `.reply` or a `.failure`. Log lines and warnings go the same way, unanswered.
final class KeyLink {
    let channel: Channel

    init(channel: Channel) { self.channel = channel }

    /// Sends a request and returns a reader over the reply's fields.
    func request(_ kind: Wire.Kind, _ body: (inout DERWriter) -> Void = { _ in }) throws(AgentFailure) -> DERReader {
        send(Wire.encode(kind, body))
        let reply: [UInt8]?
        do { reply = try channel.receive(limit: Wire.maximumMessage) } catch {
            throw AgentFailure(.failed, .system(error))
        }
        guard let reply else { throw AgentFailure.link(.keyProcessClosed) }
        let answer: Wire.Kind
        var fields: DERReader
        do { (answer, fields) = try Wire.decode(reply) } catch {
            throw AgentFailure.link(.malformedAnswer(error))
        }
        switch answer {
        case .reply:
            return fields
        case .failure:
            let code = try field(&fields) { (reader) throws(DERError) in try reader.readSmallInteger() }
            let message = try field(&fields) { (reader) throws(DERError) in try reader.readText() }
            throw AgentFailure(AgentFailure.Kind(wireValue: code) ?? .failed, .keyProcess(message))
        default:
            throw AgentFailure.link(.unexpectedAnswer(answer.rawValue))
        }
    }

    /// Sends a message that has no answer. A failure to send shows at the next request.
    func send(_ message: [UInt8]) {
        try? channel.send(message)
    }

    /// Reads one field of a reply, turning a malformed reply into a failure.
    func field<Value>(_ fields: inout DERReader, _ read: (inout DERReader) throws(DERError) -> Value) throws(AgentFailure) -> Value {
        do { return try read(&fields) } catch { throw AgentFailure.link(.malformedAnswer(error)) }
    }
}

/// `KeyService` for the network process: every call is a request to the key process.
struct RemoteKeyService: KeyService {
    let link: KeyLink

    mutating func request(certificates: [Certificate], cipher: ContentCipher, digest: DigestAlgorithm,
                          supportsRenewal: Bool) throws(AgentFailure) -> OutgoingRequest {
        var fields = try link.request(.request) { writer in
            writer.writeList(certificates.map { $0.der })
            writer.writeText(cipher.name)
            writer.writeText(digest.name)
            writer.writeBoolean(supportsRenewal)
        }
        return try link.field(&fields) { (reader) throws(DERError) in
            let message = try reader.readBytes()
            let typeOffset = reader.offset
            guard let type = MessageType(rawValue: try reader.readText()) else { throw DERError(.invalid(.integerOutOfRange), at: typeOffset) }
            let transaction = try reader.readText()
            let nonce = try reader.readBytes()
            let subject = try reader.decode(DistinguishedName.self)
            let signer = try reader.decode(Certificate.self)
            let expected = try reader.readBytes()
            try reader.finish()
            return OutgoingRequest(message: message, messageType: type, transactionID: transaction, senderNonce: nonce, subject: subject,
                                   signer: signer, expectedPublicKey: expected)
        }
    }

    mutating func deliver(reply: [UInt8]) throws(AgentFailure) -> TransactionEnd {
        var fields = try link.request(.deliver) { $0.writeOctetString(reply) }
        let pending = try link.field(&fields) { (reader) throws(DERError) in
            let pending = try reader.readBoolean()
            try reader.finish()
            return pending
        }
        return pending ? .pending : .issued
    }

    mutating func warn(_ warning: ProtocolWarning) {
        link.send(Wire.encode(.warn) { $0.writeText("\(warning)") })
    }
}
