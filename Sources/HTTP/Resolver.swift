import Encoding
import Platform

/// What name resolution needs from the system: `/etc/resolv.conf` and `/etc/hosts`, as text.
///
/// The agent resolves names itself instead of through the C library: the network process that
/// does it has no filesystem access (the key process reads these two files and hands them
/// over), and a static glibc's getaddrinfo would bring glibc's NSS modules and dynamic loader
/// into the binary and still need the shared libraries at run time.
public struct ResolverConfiguration: Equatable, Sendable {
    public var nameservers: [IPAddress] = []
    public var search: [String] = []
    public var ndots = 1
    public var timeoutSeconds = 5
    public var attempts = 2
    public var hosts: [(name: String, address: IPAddress)] = []

    public init() {}

    /// resolv.conf (nameserver, search, domain, options ndots/timeout/attempts; the first three
    /// nameservers, as the C library takes them) and hosts, each read leniently line by line.
    public init(resolvConf: [UInt8], hosts: [UInt8]) {
        for line in ResolverConfiguration.lines(resolvConf) {
            guard let keyword = line.first else { continue }
            switch keyword {
            case "nameserver":
                if line.count >= 2, nameservers.count < 3, let address = IPAddress(line[1]) { nameservers.append(address) }
            case "search", "domain":
                search = Array(line.dropFirst().prefix(6))
            case "options":
                for option in line.dropFirst() {
                    if option.hasUTF8Prefix("ndots:"), let value = Numbers.parseInt(option.utf8.dropFirst(6), limit: 15) { ndots = value }
                    if option.hasUTF8Prefix("timeout:"), let value = Numbers.parseInt(option.utf8.dropFirst(8), limit: 30), value > 0 {
                        timeoutSeconds = value
                    }
                    if option.hasUTF8Prefix("attempts:"), let value = Numbers.parseInt(option.utf8.dropFirst(9), limit: 5), value > 0 {
                        attempts = value
                    }
                }
            default:
                continue
            }
        }
        for line in ResolverConfiguration.lines(hosts) where line.count >= 2 {
            guard let address = IPAddress(line[0]) else { continue }
            for name in line.dropFirst() where self.hosts.count < 1024 { self.hosts.append((name.asciiLowercased, address)) }
        }
        // With no nameserver configured the C library asks the local host.
        if nameservers.isEmpty { nameservers = [IPAddress(bytes: [127, 0, 0, 1])!] }
    }

    public static func == (lhs: ResolverConfiguration, rhs: ResolverConfiguration) -> Bool {
        lhs.nameservers == rhs.nameservers && lhs.search == rhs.search && lhs.ndots == rhs.ndots
            && lhs.timeoutSeconds == rhs.timeoutSeconds && lhs.attempts == rhs.attempts
            && lhs.hosts.elementsEqual(rhs.hosts) { $0.name == $1.name && $0.address == $1.address }
    }

    /// Words of each line, comments (`#`, `;`) dropped; at most 4096 lines of 512 bytes.
    static func lines(_ text: [UInt8]) -> [[String]] {
        var result: [[String]] = []
        for line in text.split(separator: 0x0a, omittingEmptySubsequences: true).prefix(4096) where line.count <= 512 {
            let content = line.prefix { $0 != UInt8(ascii: "#") && $0 != UInt8(ascii: ";") }
            let words = content.split { $0 == 0x20 || $0 == 0x09 || $0 == 0x0d }.map { String(decoding: $0, as: UTF8.self) }
            if !words.isEmpty { result.append(words) }
        }
        return result
    }
}

/// Why a name did not resolve.
public enum ResolutionError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The name does not exist, or has no address (NXDOMAIN, or an empty answer).
    case notFound
    /// No nameserver gave a usable answer in time.
    case noAnswer(String)
    case invalidName

    public var description: String {
        switch self {
        case .notFound: "Name or service not known"
        case .noAnswer(let detail): "no DNS server answered (\(detail))"
        case .invalidName: "not a valid host name"
        }
    }
}

/// A DNS stub resolver (RFC 1035) for A and AAAA records: an address literal as it is, then
/// /etc/hosts, then each nameserver of resolv.conf with its search list and ndots. Bounded in
/// every direction a hostile answer could push it: answers of at most 4096 bytes, compressed
/// names followed only backwards and at most 64 times, 255-byte names, 64 records.
public enum Resolver {
    public static func resolve(_ host: String, configuration: ResolverConfiguration,
                               deadline: Int64) throws(ResolutionError) -> [IPAddress] {
        if let literal = IPAddress(host) { return [literal] }
        let name = host.asciiLowercased
        guard DNSMessage.isValidName(name) else { throw .invalidName }
        let fromHosts = configuration.hosts.filter { $0.name == name || $0.name == name + "." }.map { $0.address }
        if !fromHosts.isEmpty { return fromHosts }

        var lastFailure = ResolutionError.notFound
        for candidate in candidates(name, configuration) {
            do throws(ResolutionError) {
                let addresses = try query(candidate, configuration: configuration, deadline: deadline)
                if !addresses.isEmpty { return addresses }
            } catch {
                lastFailure = error
                if case .noAnswer = error { break }
            }
        }
        throw lastFailure
    }

    /// The names to try, in order (resolv.conf(5)): the name as given first when it has at
    /// least `ndots` dots, else after the search domains.
    static func candidates(_ name: String, _ configuration: ResolverConfiguration) -> [String] {
        if name.hasUTF8Suffix(".") { return [name.droppingUTF8Suffix(1)] }
        let dots = name.utf8.filter { $0 == UInt8(ascii: ".") }.count
        let searched = configuration.search.map { name + "." + $0 }.filter { DNSMessage.isValidName($0) }
        return dots >= configuration.ndots ? [name] + searched : searched + [name]
    }

    /// A and AAAA for `name`, from the first nameserver that answers: IPv4 first, as most
    /// device networks have it.
    static func query(_ name: String, configuration: ResolverConfiguration, deadline: Int64) throws(ResolutionError) -> [IPAddress] {
        var failures: [String] = []
        for _ in 0..<configuration.attempts {
            for server in configuration.nameservers {
                let tryDeadline = min(deadline, monotonicMilliseconds() + Int64(configuration.timeoutSeconds) * 1000)
                do throws(DNSMessage.Failure) {
                    let v4 = try ask(name, type: DNSMessage.typeA, server: server, deadline: tryDeadline)
                    let v6 = try ask(name, type: DNSMessage.typeAAAA, server: server, deadline: tryDeadline)
                    guard v4 != nil || v6 != nil else { throw .nameError }
                    return (v4 ?? []) + (v6 ?? [])
                } catch {
                    switch error {
                    case .nameError: throw .notFound
                    case .failure(let detail): failures.append("\(server): \(detail)")
                    }
                }
                if monotonicMilliseconds() >= deadline { throw .noAnswer(failures.last ?? "timed out") }
            }
        }
        throw .noAnswer(failures.last ?? "no nameserver")
    }

    /// The addresses of one type; nil when the name exists but has none of that type.
    static func ask(_ name: String, type: UInt16, server: IPAddress, deadline: Int64) throws(DNSMessage.Failure) -> [IPAddress]? {
        let random: [UInt8]
        do { random = try kernelRandomBytes(2) } catch { throw .failure("no random query ID: \(error.reason)") }
        let id = UInt16(random[0]) << 8 | UInt16(random[1])
        let request = DNSMessage.query(id: id, name: name, type: type)
        let received: [UInt8]?
        do {
            received = try exchangeDatagram(request, with: server, port: 53, deadline: deadline) { datagram in
                DNSMessage.answers(datagram, id: id, name: name, type: type)
            }
        } catch {
            throw .failure(error.reason)
        }
        guard let answer = received else { throw .failure("timed out") }
        let addresses = try DNSMessage.addresses(in: answer, id: id, name: name, type: type)
        return addresses.isEmpty ? nil : addresses
    }
}

/// DNS messages (RFC 1035 section 4): building a query, and reading the addresses from an
/// answer that must match it.
public enum DNSMessage {
    public static let typeA: UInt16 = 1
    public static let typeAAAA: UInt16 = 28
    static let typeCNAME: UInt16 = 5
    static let classIN: UInt16 = 1

    public enum Failure: Error, Equatable, Sendable {
        /// NXDOMAIN: the name does not exist.
        case nameError
        case failure(String)
    }

    static func isValidName(_ name: String) -> Bool {
        let bytes = Array(name.utf8)
        guard !bytes.isEmpty, bytes.count <= 253 else { return false }
        for label in bytes.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false) {
            guard !label.isEmpty, label.count <= 63, label.allSatisfy({ ServerURL.isHostCharacter($0) }) else { return false }
        }
        return true
    }

    public static func query(id: UInt16, name: String, type: UInt16) -> [UInt8] {
        var message: [UInt8] = [UInt8(id >> 8), UInt8(id & 0xff), 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0] // RD, one question
        for label in name.utf8.split(separator: UInt8(ascii: ".")) {
            message.append(UInt8(label.count))
            message.append(contentsOf: label)
        }
        message.append(0)
        message += [UInt8(type >> 8), UInt8(type & 0xff), 0, UInt8(classIN)]
        return message
    }

    /// Whether `message` is a reply to query `id` for `name` and `type` at all (its header and
    /// question): anything else is not the answer, and the real one is still awaited.
    static func answers(_ message: [UInt8], id: UInt16, name: String, type: UInt16) -> Bool {
        var reader = Reader(message)
        guard let header = try? reader.bytes(12), UInt16(header[0]) << 8 | UInt16(header[1]) == id, header[2] & 0x80 != 0,
              Int(header[4]) << 8 | Int(header[5]) == 1,
              (try? reader.name().asciiLowercased) == name, (try? reader.number()) == type, (try? reader.number()) == classIN else {
            return false
        }
        return true
    }

    /// The addresses of `type` that answer `name` in `message`, the reply to query `id`:
    /// records for `name` itself or for the aliases its CNAME records lead to.
    public static func addresses(in message: [UInt8], id: UInt16, name: String, type: UInt16) throws(Failure) -> [IPAddress] {
        var reader = Reader(message)
        let header = try reader.bytes(12)
        guard UInt16(header[0]) << 8 | UInt16(header[1]) == id else { throw .failure("an answer to another query") }
        guard header[2] & 0x80 != 0 else { throw .failure("not an answer") }
        // Truncated (TC): the records that matter may be the ones cut off; this resolver has no
        // TCP, so the answer is not used.
        guard header[2] & 0x02 == 0 else { throw .failure("a truncated answer (TC), and no DNS over TCP here") }
        switch header[3] & 0x0f {
        case 0: break
        case 3: throw .nameError
        default: throw .failure("the server returned error \(header[3] & 0x0f)")
        }
        let questions = Int(header[4]) << 8 | Int(header[5])
        let answers = Int(header[6]) << 8 | Int(header[7])
        guard questions == 1 else { throw .failure("an answer with \(questions) questions") }
        guard try reader.name().asciiLowercased == name, try reader.number() == type, try reader.number() == classIN else {
            throw .failure("an answer to another question")
        }
        var owners = [name]
        var found: [IPAddress] = []
        for _ in 0..<min(answers, 64) {
            let owner = try reader.name().asciiLowercased
            let recordType = try reader.number()
            let recordClass = try reader.number()
            _ = try reader.bytes(4) // TTL
            let length = Int(try reader.number())
            let start = reader.offset
            let data = try reader.bytes(length)
            guard recordClass == classIN, owners.contains(owner) else { continue }
            if recordType == typeCNAME {
                var alias = Reader(message, at: start)
                owners.append(try alias.name().asciiLowercased)
            } else if recordType == type, let address = IPAddress(bytes: data),
                      address.bytes.count == (type == typeA ? 4 : 16) {
                found.append(address)
            }
        }
        return found
    }

    /// A bounded cursor over a message.
    struct Reader {
        let message: [UInt8]
        var offset: Int

        init(_ message: [UInt8], at offset: Int = 0) {
            self.message = message
            self.offset = offset
        }

        mutating func bytes(_ count: Int) throws(Failure) -> [UInt8] {
            guard count >= 0, count <= message.count - offset else { throw .failure("a truncated answer") }
            defer { offset += count }
            return Array(message[offset..<(offset + count)])
        }

        mutating func number() throws(Failure) -> UInt16 {
            let two = try bytes(2)
            return UInt16(two[0]) << 8 | UInt16(two[1])
        }

        /// A name, following compression pointers backwards only, at most 64 of them.
        mutating func name() throws(Failure) -> String {
            var labels: [String] = []
            var length = 0
            var cursor = offset
            var jumped = false
            for _ in 0..<128 {
                guard cursor < message.count else { throw .failure("a truncated name") }
                let size = Int(message[cursor])
                if size == 0 {
                    if !jumped { offset = cursor + 1 }
                    return labels.joined(separator: ".")
                }
                if size & 0xc0 == 0xc0 {
                    guard cursor + 1 < message.count else { throw .failure("a truncated name") }
                    let target = (size & 0x3f) << 8 | Int(message[cursor + 1])
                    guard target < cursor else { throw .failure("a compression pointer that does not point back") }
                    if !jumped { offset = cursor + 2 }
                    jumped = true
                    cursor = target
                    continue
                }
                guard size <= 63, cursor + 1 + size <= message.count else { throw .failure("an invalid label") }
                length += size + 1
                guard length <= 255 else { throw .failure("a name longer than 255 bytes") }
                labels.append(String(decoding: message[(cursor + 1)...(cursor + size)], as: UTF8.self))
                cursor += 1 + size
            }
            throw .failure("a name with too many labels")
        }
    }
}
