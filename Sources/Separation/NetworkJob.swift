import Agent
import ASN1
import Crypto
import Platform
import Protocol
import X509

/// What the key process asks one network process to do, and everything it needs for it. The
/// network process reads no file: the TLS trust bundle, resolv.conf and hosts come with the job,
/// read by the key process before the network process started.
public struct NetworkJob: Equatable {
    public enum Command: Int, Equatable, Sendable {
        case caps = 1, getca, enroll, renew, poll, nextCA
    }

    public var command: Command
    public var url: String
    public var tlsTrust: [UInt8]?
    public var timeoutSeconds: Int64 = 60
    public var resolvConf: [UInt8] = []
    public var hosts: [UInt8] = []
    public var pin: [UInt8] = []
    public var raPins: [[UInt8]] = []
    public var subject: DistinguishedName?
    public var allowWeakCrypto = false
    /// Whether the key process holds a challenge (replies may be encrypted to it).
    public var hasChallenge = false
    public var userAgent = "scep-agent"
    public var logLevel: LogLevel = .info
    /// The identity in service's certificate: it signs a RenewalReq.
    public var current: Certificate?
    /// For `poll`: the pending transaction.
    public var pending: PendingRecord?
    /// The account the network process switches to when started as root.
    public var unprivileged: (uid: UInt32, gid: UInt32)?
    /// Test builds only (SCEP_SANDBOX_PROBES): a forbidden action to attempt once sandboxed,
    /// or "crash" to die after sending the request, proving the key side survives it.
    public var probe: String?

    public init(command: Command, url: String) {
        self.command = command
        self.url = url
    }

    public static func == (lhs: NetworkJob, rhs: NetworkJob) -> Bool {
        lhs.encoded() == rhs.encoded()
    }

    public func encoded() -> [UInt8] {
        Wire.encode(.job) { writer in
            writer.writeInteger(command.rawValue)
            writer.writeText(url)
            writer.writeOptional(tlsTrust) { $0.writeOctetString($1) }
            writer.writeInteger(Int(max(1, min(timeoutSeconds, 86_400))))
            writer.writeOctetString(resolvConf)
            writer.writeOctetString(hosts)
            writer.writeOctetString(pin)
            writer.writeList(raPins)
            writer.writeOptional(subject) { $0.write($1) }
            writer.writeBoolean(allowWeakCrypto)
            writer.writeBoolean(hasChallenge)
            writer.writeText(userAgent)
            writer.writeInteger(logLevel.rawValue)
            writer.writeOptional(current) { $0.writeEncoded($1.der) }
            writer.writeOptional(pending) { $0.writePendingRecord($1) }
            writer.writeOptional(unprivileged) { writer, account in
                writer.writeSequence { writer in
                    writer.writeInteger(Int(account.uid))
                    writer.writeInteger(Int(account.gid))
                }
            }
            writer.writeOptional(probe) { $0.writeText($1) }
        }
    }

    public init(decoding message: [UInt8]) throws(DERError) {
        var (kind, fields) = try Wire.decode(message)
        guard kind == .job else { throw DERError(.invalid(.integerOutOfRange), at: 0) }
        guard let command = Command(rawValue: try fields.readSmallInteger()) else { throw DERError(.invalid(.integerOutOfRange), at: 0) }
        self.init(command: command, url: try fields.readText())
        tlsTrust = try fields.readOptional { (reader) throws(DERError) in try reader.readBytes() }
        timeoutSeconds = Int64(try fields.readSmallInteger())
        resolvConf = try fields.readBytes()
        hosts = try fields.readBytes()
        pin = try fields.readBytes()
        raPins = try fields.readList()
        subject = try fields.readOptional { (reader) throws(DERError) in try reader.decode(DistinguishedName.self) }
        allowWeakCrypto = try fields.readBoolean()
        hasChallenge = try fields.readBoolean()
        userAgent = try fields.readText()
        logLevel = LogLevel(rawValue: try fields.readSmallInteger()) ?? .info
        current = try fields.readOptional { (reader) throws(DERError) in try reader.decode(Certificate.self) }
        pending = try fields.readOptional { (reader) throws(DERError) in try reader.readPendingRecord() }
        unprivileged = try fields.readOptional { (reader) throws(DERError) in
            var account = try reader.enterSequence()
            let uid = UInt32(try account.readSmallInteger())
            let gid = UInt32(try account.readSmallInteger())
            try account.finish()
            return (uid, gid)
        }
        probe = try fields.readOptional { (reader) throws(DERError) in try reader.readText() }
        try fields.finish()
    }
}

extension DERWriter {
    mutating func writePendingRecord(_ record: PendingRecord) {
        writeSequence { writer in
            writer.writeText(record.transactionID)
            writer.writeText(record.messageType.rawValue)
            writer.write(record.subject)
            writer.writeEncoded(record.signer.der)
            writer.writeBoolean(record.signedByCurrent)
            writer.writeOctetString(withUnsafeBytes(of: UInt64(bitPattern: record.since).bigEndian) { Array($0) })
        }
    }
}

extension DERReader {
    mutating func readPendingRecord() throws(DERError) -> PendingRecord {
        var fields = try enterSequence()
        let transaction = try fields.readText()
        let typeOffset = fields.offset
        guard let type = MessageType(rawValue: try fields.readText()), transaction.utf8.count <= 128 else {
            throw DERError(.invalid(.integerOutOfRange), at: typeOffset)
        }
        let subject = try fields.decode(DistinguishedName.self)
        let signer = try fields.decode(Certificate.self)
        let signedByCurrent = try fields.readBoolean()
        let sinceBytes = try fields.readBytes()
        guard sinceBytes.count == 8 else { throw DERError(.invalid(.integerOutOfRange), at: fields.offset) }
        let since = sinceBytes.reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        try fields.finish()
        return PendingRecord(transactionID: transaction, messageType: type, subject: subject, signer: signer,
                             signedByCurrent: signedByCurrent, since: Int64(bitPattern: since))
    }
}

extension NetworkJob {
    /// The account a network process started as root switches to: `nobody` (and `nogroup`),
    /// or 65534 where the account files lack them. Nil when not root: there is nothing to drop.
    public static func unprivilegedAccount() -> (uid: UInt32, gid: UInt32)? {
        guard currentUserID() == 0 else { return nil }
        let uid = userID(named: "nobody") ?? 65_534
        let gid = groupID(named: "nogroup") ?? groupID(named: "nobody") ?? 65_534
        return (uid, gid)
    }
}
