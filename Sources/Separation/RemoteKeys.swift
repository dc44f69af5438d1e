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
        guard let reply else { throw AgentFailure(.failed, "the key process closed the channel") }
        let answer: Wire.Kind
        var fields: DERReader
        do { (answer, fields) = try Wire.decode(reply) } catch {
            throw AgentFailure(.failed, "the key process's answer is malformed: \(error)")
        }
        switch answer {
        case .reply:
            return fields
        case .failure:
            let code = try field(&fields) { (reader) throws(DERError) in try reader.readSmallInteger() }
            let message = try field(&fields) { (reader) throws(DERError) in try reader.readText() }
            throw AgentFailure(AgentFailure.Kind(wireValue: code) ?? .failed, .text(message))
        default:
            throw AgentFailure(.failed, "the key process answered with message \(answer.rawValue)")
        }
    }

    /// Sends a message that has no answer. A failure to send shows at the next request.
    func send(_ message: [UInt8]) {
        try? channel.send(message)
    }

    /// Reads one field of a reply, turning a malformed reply into a failure.
    func field<Value>(_ fields: inout DERReader, _ read: (inout DERReader) throws(DERError) -> Value) throws(AgentFailure) -> Value {
        do { return try read(&fields) } catch { throw AgentFailure(.failed, "the key process's answer is malformed: \(error)") }
    }
}

/// `KeyService` for the network process: every call is a request to the key process.
struct RemoteKeyService: KeyService {
    let link: KeyLink
    let hasChallenge: Bool
    private var transaction: RemoteKey?
    private var current: RemoteKey?

    init(link: KeyLink, hasChallenge: Bool) {
        self.link = link
        self.hasChallenge = hasChallenge
    }

    mutating func transactionKey() throws(AgentFailure) -> PrivateKey {
        if let transaction { return transaction }
        let key = try RemoteKey.fetch(.transaction, link: link)
        transaction = key
        return key
    }

    mutating func currentKey() throws(AgentFailure) -> PrivateKey {
        if let current { return current }
        let key = try RemoteKey.fetch(.current, link: link)
        current = key
        return key
    }

    mutating func sealedRequest(certificates: [Certificate], cipher: ContentCipher,
                                digest: DigestAlgorithm) throws(AgentFailure) -> [UInt8] {
        var fields = try link.request(.sealRequest) { writer in
            writer.writeList(certificates.map { $0.der })
            writer.writeText(cipher.name)
            writer.writeText(digest.name)
        }
        return try link.field(&fields) { (reader) throws(DERError) in try reader.readBytes() }
    }

    mutating func password() -> PasswordSecret? {
        hasChallenge ? RemotePassword(link: link) : nil
    }

    mutating func commit(certificate: Certificate, chain: [Certificate]) throws(AgentFailure) {
        _ = try link.request(.commit) { writer in
            writer.writeOctetString(certificate.der)
            writer.writeList(chain.map { $0.der })
        }
    }

    mutating func notePending(_ record: PendingRecord) throws(AgentFailure) {
        _ = try link.request(.notePending) { $0.writePendingRecord(record) }
    }

    mutating func warn(_ warning: ProtocolWarning) {
        link.send(Wire.encode(.warn) { $0.writeText("\(warning)") })
    }
}

/// A key the key process holds: each operation is a request, which the key process may refuse
/// (a key this transaction may not use, or one operation too many).
final class RemoteKey: PrivateKey {
    let role: KeyAuthority.KeyRole
    let link: KeyLink
    let heldIn: String

    init(role: KeyAuthority.KeyRole, type: KeyType, publicKeyInfo: [UInt8], storage: String, link: KeyLink) {
        self.role = role
        self.link = link
        heldIn = storage
        super.init(type: type, publicKeyInfo: publicKeyInfo)
    }

    static func fetch(_ role: KeyAuthority.KeyRole, link: KeyLink) throws(AgentFailure) -> RemoteKey {
        var fields = try link.request(role == .transaction ? .transactionKey : .currentKey)
        let typeName = try link.field(&fields) { (reader) throws(DERError) in try reader.readText() }
        let publicKeyInfo = try link.field(&fields) { (reader) throws(DERError) in try reader.readBytes() }
        let storage = try link.field(&fields) { (reader) throws(DERError) in try reader.readText() }
        guard let type = KeyType(name: typeName) else { throw AgentFailure(.failed, "the key process named an unknown key type") }
        return RemoteKey(role: role, type: type, publicKeyInfo: publicKeyInfo, storage: storage, link: link)
    }

    override var storage: String { heldIn }

    override func sign(digest: [UInt8], algorithm: DigestAlgorithm) throws(CryptoError) -> [UInt8] {
        try bytes(.sign) { writer in
            writer.writeInteger(role.wireValue)
            writer.writeOctetString(digest)
            writer.writeText(algorithm.name)
        }
    }

    override func decrypt(_ encryptedKey: [UInt8]) throws(CryptoError) -> SecretBytes {
        SecretBytes(try bytes(.decrypt) { writer in
            writer.writeInteger(role.wireValue)
            writer.writeOctetString(encryptedKey)
        })
    }

    override func agree(peerPoint: [UInt8]) throws(CryptoError) -> SecretBytes {
        SecretBytes(try bytes(.agree) { writer in
            writer.writeInteger(role.wireValue)
            writer.writeOctetString(peerPoint)
        })
    }

    private func bytes(_ kind: Wire.Kind, _ body: (inout DERWriter) -> Void) throws(CryptoError) -> [UInt8] {
        do throws(AgentFailure) {
            var fields = try link.request(kind, body)
            return try link.field(&fields) { (reader) throws(DERError) in try reader.readBytes() }
        } catch {
            throw CryptoError(.keyHolder(error.message))
        }
    }
}

/// The challenge, held by the key process: it derives keys for the network process, within the
/// transaction's budget, and never sends the password.
final class RemotePassword: PasswordSecret {
    let link: KeyLink

    init(link: KeyLink) {
        self.link = link
        super.init()
    }

    override func deriveKey(salt: [UInt8], iterations: Int, keyLength: Int, digest: DigestAlgorithm) throws(CryptoError) -> SecretBytes {
        do throws(AgentFailure) {
            var fields = try link.request(.deriveKey) { writer in
                writer.writeOctetString(salt)
                writer.writeInteger(iterations)
                writer.writeInteger(keyLength)
                writer.writeText(digest.name)
            }
            return SecretBytes(try link.field(&fields) { (reader) throws(DERError) in try reader.readBytes() })
        } catch {
            throw CryptoError(.keyHolder(error.message))
        }
    }
}

extension KeyAuthority.KeyRole {
    var wireValue: Int { self == .transaction ? 0 : 1 }

    init?(wireValue: Int) {
        switch wireValue {
        case 0: self = .transaction
        case 1: self = .current
        default: return nil
        }
    }
}
