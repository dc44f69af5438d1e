import ASN1
import Crypto
import Platform

/// The messages between the key process and the network process, and their encoding.
///
/// Each message is one DER SEQUENCE: an INTEGER naming the message, then its fields. DER, because
/// the key process must read what a possibly compromised network process sends, and the bounded
/// DER reader is the parser this project already fuzzes; every message is also bounded in size
/// by the channel (`Wire.maximumMessage`).
public enum Wire {
    /// Larger than any message: a job with a 1 MiB --tls-ca bundle, hosts and resolv.conf; a
    /// reply (at most the HTTP limit of 1 MiB); a GetNextCACert answer and a CA bag.
    public static let maximumMessage = 2 << 20

    /// What a message is, by its INTEGER.
    public enum Kind: Int, Sendable {
        // Key process to network process.
        case job = 1
        case reply = 2
        case failure = 3
        // Network process to key process.
        case request = 10
        case deliver = 11
        case warn = 14
        case log = 15
        case result = 30
    }

    static func bigEndian(_ value: UInt32) -> [UInt8] {
        [UInt8(value >> 24), UInt8((value >> 16) & 0xff), UInt8((value >> 8) & 0xff), UInt8(value & 0xff)]
    }

    static func uint32(_ bytes: [UInt8], at offset: Int) throws(DERError) -> UInt32 {
        guard bytes.count == 4 else { throw DERError(.invalid(.integerOutOfRange), at: offset) }
        return bytes.reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
    }

    /// Writes one message: its kind, then what `body` writes.
    public static func encode(_ kind: Kind, _ body: (inout DERWriter) -> Void = { _ in }) -> [UInt8] {
        DER.encode { writer in
            writer.writeSequence { writer in
                writer.writeInteger(kind.rawValue)
                body(&writer)
            }
        }
    }

    /// Reads a message's kind and returns a reader over its fields.
    public static func decode(_ message: [UInt8]) throws(DERError) -> (Kind, DERReader) {
        var outer = DERReader(message)
        let element = try outer.read(DERTag.sequence)
        try outer.finish()
        var fields = try element.reader()
        let number = try fields.readSmallInteger()
        guard let kind = Kind(rawValue: number) else { throw DERError(.invalid(.integerOutOfRange), at: element.offset) }
        return (kind, fields)
    }
}

/// Field helpers: the few shapes messages are made of.
extension DERWriter {
    mutating func writeText(_ text: String) { writeUTF8String(text) }

    mutating func writeList(_ items: [[UInt8]]) {
        writeSequence { writer in
            for item in items { writer.writeOctetString(item) }
        }
    }

    mutating func writeSecret(_ secret: SecretBytes) {
        secret.withBytes { writeOctetString($0) }
    }
}

extension DERReader {
    mutating func readText() throws(DERError) -> String {
        String(decoding: try read(DERTag.utf8String).contents, as: UTF8.self)
    }

    mutating func readBytes() throws(DERError) -> [UInt8] {
        Array(try readOctetString())
    }

    /// At most `limit` items.
    mutating func readList(limit: Int = 64) throws(DERError) -> [[UInt8]] {
        var list = try enterSequence()
        var items: [[UInt8]] = []
        while !list.isAtEnd {
            guard items.count < limit else { throw DERError(.invalid(.tooMany), at: list.offset) }
            items.append(try list.readBytes())
        }
        return items
    }

    mutating func readOptional<Value>(_ read: (inout DERReader) throws(DERError) -> Value) throws(DERError) -> Value? {
        if nextTag == DERTag.null {
            try readNull()
            return nil
        }
        return try read(&self)
    }
}

extension DERWriter {
    mutating func writeOptional<Value>(_ value: Value?, _ write: (inout DERWriter, Value) -> Void) {
        if let value { write(&self, value) } else { writeNull() }
    }
}

/// The names of algorithms on the wire.
extension DigestAlgorithm {
    static func named(_ name: String) -> DigestAlgorithm? {
        for algorithm in [DigestAlgorithm.sha1, .sha256, .sha384, .sha512] where algorithm.name == name { return algorithm }
        return nil
    }
}

extension ContentCipher {
    static func named(_ name: String) -> ContentCipher? {
        for cipher in [ContentCipher.aes128CBC, .aes192CBC, .aes256CBC, .desEDE3CBC, .desCBC] where cipher.name == name { return cipher }
        return nil
    }
}
