import Agent
import ASN1
import Crypto
import HTTP
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
    /// The proxy to go through for this job's URL, chosen by the key process (--proxy, or the
    /// environment it was started with), with the credentials it read; nil: direct.
    public var proxy: ProxyConfiguration?
    public var pin: [UInt8] = []
    public var raPins: [[UInt8]] = []
    public var allowWeakCrypto = false
    public var userAgent = "scep-agent"
    public var logLevel: LogLevel = .info
    /// The account the network process switches to when started as root.
    public var unprivileged: (uid: UInt32, gid: UInt32)?
    /// Test builds only (SCEP_SANDBOX_PROBES; SCEP_AGENT_SANDBOX_PROBE in the key process's
    /// environment): a forbidden action to attempt once sandboxed, or "crash" to die midway. The
    /// shipped binary never sets it and ignores it.
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
            writer.writeOptional(proxy) { writer, proxy in
                writer.writeSequence { writer in
                    writer.writeText(proxy.host)
                    writer.writeInteger(Int(proxy.port))
                    writer.writeOptional(proxy.authorization) { $0.writeText($1) }
                    writer.writeList(proxy.bypass.map { Array($0.utf8) })
                }
            }
            writer.writeOctetString(pin)
            writer.writeList(raPins)
            writer.writeBoolean(allowWeakCrypto)
            writer.writeText(userAgent)
            writer.writeInteger(logLevel.rawValue)
            writer.writeOptional(unprivileged) { writer, account in
                // Four bytes each: a 32-bit id need not fit a signed 31-bit INTEGER.
                writer.writeSequence { writer in
                    writer.writeOctetString(Wire.bigEndian(account.uid))
                    writer.writeOctetString(Wire.bigEndian(account.gid))
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
        proxy = try fields.readOptional { (reader) throws(DERError) in
            var entry = try reader.enterSequence()
            let host = try entry.readText()
            let portOffset = entry.offset
            let port = try entry.readSmallInteger()
            guard (1...65_535).contains(port) else { throw DERError(.invalid(.integerOutOfRange), at: portOffset) }
            let authorization = try entry.readOptional { (reader) throws(DERError) in try reader.readText() }
            let bypass = try entry.readList().map { String(decoding: $0, as: UTF8.self) }
            try entry.finish()
            return ProxyConfiguration(host: host, port: UInt16(port), authorization: authorization, bypass: bypass)
        }
        pin = try fields.readBytes()
        raPins = try fields.readList()
        allowWeakCrypto = try fields.readBoolean()
        userAgent = try fields.readText()
        logLevel = LogLevel(rawValue: try fields.readSmallInteger()) ?? .info
        unprivileged = try fields.readOptional { (reader) throws(DERError) in
            var account = try reader.enterSequence()
            let uid = try Wire.uint32(try account.readBytes(), at: account.offset)
            let gid = try Wire.uint32(try account.readBytes(), at: account.offset)
            try account.finish()
            return (uid, gid)
        }
        probe = try fields.readOptional { (reader) throws(DERError) in try reader.readText() }
        try fields.finish()
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
