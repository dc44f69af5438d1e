import Crypto
import Encoding
import X509

/// One identity on disk: a directory `gen-NNNNNN` holding PEM files other tools can read, a
/// `meta` file of facts, and a `manifest` with the SHA-256 of each, so truncation or corruption of
/// any file is detected before the identity is used.
struct GenerationFiles {
    static let key = "key.pem"
    static let encryptedKey = "key.enc"
    static let certificate = "cert.pem"
    static let chain = "chain.pem"
    static let meta = "meta"
    static let manifest = "manifest"

    /// The key file of a key its holder keeps, by the holder's format: `key.tpm2`.
    static func heldKey(_ format: String) -> String { "key." + format }

    static func heldKeyFormat(_ name: String) -> String? {
        guard name.hasUTF8Prefix("key."), name != key, name != encryptedKey else { return nil }
        return name.droppingUTF8Prefix(4)
    }

    static func name(_ number: Int) -> String {
        var digits = String(number)
        while digits.utf8.count < 6 { digits = "0" + digits }
        return "gen-" + digits
    }

    /// The name for a new generation: one past the highest in use, or after gen-999999 the lowest
    /// number free (at most the current, previous and pending generations are kept).
    static func nextName(among entries: [String]) -> String {
        let numbers = entries.compactMap { number($0) }
        let highest = numbers.max() ?? 0
        if highest < 999_999 { return name(highest + 1) }
        var candidate = 1
        while numbers.contains(candidate) { candidate += 1 }
        return name(candidate)
    }

    static func number(_ name: String) -> Int? {
        guard name.hasUTF8Prefix("gen-"), name.utf8.count == 10 else { return nil }
        return Numbers.parseInt(name.utf8.dropFirst(4), limit: 999_999)
    }

    /// `sha256 <hex> <name>` lines, sorted by name.
    static func manifest(_ files: [(name: String, digest: [UInt8])]) -> [UInt8] {
        var text = ""
        for file in files.insertionSorted(by: { $0.name < $1.name }) { text += "sha256 \(Hex.encode(file.digest)) \(file.name)\n" }
        return Array(text.utf8)
    }

    static func parseManifest(_ bytes: [UInt8]) -> [(name: String, digest: [UInt8])]? {
        var entries: [(name: String, digest: [UInt8])] = []
        for line in bytes.split(separator: 0x0a) {
            let fields = line.split(separator: 0x20)
            guard fields.count == 3, fields[0].elementsEqual(Array("sha256".utf8)),
                  let digest = Hex.decode(String(decoding: fields[1], as: UTF8.self)), digest.count == 32 else { return nil }
            entries.append((String(decoding: fields[2], as: UTF8.self), digest))
        }
        return entries.isEmpty ? nil : entries
    }
}

/// The pointer files `current` and `previous`: which generation, and the SHA-256 of its
/// manifest, so swapping in another generation's files is detected too.
struct GenerationPointer: Equatable {
    let generation: String
    let manifestDigest: [UInt8]

    var bytes: [UInt8] { Array("generation=\(generation)\nmanifest_sha256=\(Hex.encode(manifestDigest))\n".utf8) }

    init(generation: String, manifestDigest: [UInt8]) {
        self.generation = generation
        self.manifestDigest = manifestDigest
    }

    init?(_ bytes: [UInt8]) {
        var generation: String? = nil
        var digest: [UInt8]? = nil
        for line in bytes.split(separator: 0x0a) {
            let text = String(decoding: line, as: UTF8.self)
            if text.hasUTF8Prefix("generation=") { generation = text.droppingUTF8Prefix(11) }
            if text.hasUTF8Prefix("manifest_sha256=") { digest = Hex.decode(text.droppingUTF8Prefix(16)) }
        }
        guard let generation, GenerationFiles.number(generation) != nil, let digest, digest.count == 32 else { return nil }
        self.generation = generation
        self.manifestDigest = digest
    }
}

/// Facts about an identity kept beside it, as `key=value` lines.
public struct IdentityMetadata: Equatable {
    public var values: [(String, String)]

    public init(_ values: [(String, String)]) { self.values = values }

    public subscript(key: String) -> String? { values.first { $0.0 == key }?.1 }

    var bytes: [UInt8] {
        var text = ""
        for (key, value) in values {
            let clean = String(decoding: value.utf8.map { $0 < 0x20 ? UInt8(ascii: " ") : $0 }, as: UTF8.self)
            text += "\(key)=\(clean)\n"
        }
        return Array(text.utf8)
    }

    init(parsing bytes: [UInt8]) {
        var values: [(String, String)] = []
        for line in bytes.split(separator: 0x0a) {
            guard let equals = line.firstIndex(of: UInt8(ascii: "=")) else { continue }
            values.append((String(decoding: line[line.startIndex..<equals], as: UTF8.self),
                           String(decoding: line[(equals + 1)...], as: UTF8.self)))
        }
        self.values = values
    }

    public static func == (lhs: IdentityMetadata, rhs: IdentityMetadata) -> Bool {
        lhs.values.elementsEqual(rhs.values) { $0.0 == $1.0 && $0.1 == $1.1 }
    }
}
