import Testing
@testable import Encoding

@Suite struct Base64Tests {
    @Test("RFC 4648 test vectors round-trip", arguments: [
        ("", ""), ("f", "Zg=="), ("fo", "Zm8="), ("foo", "Zm9v"), ("foob", "Zm9vYg=="),
        ("fooba", "Zm9vYmE="), ("foobar", "Zm9vYmFy"),
    ])
    func vectors(plain: String, encoded: String) {
        #expect(Base64.encode(Array(plain.utf8)) == encoded)
        #expect(Base64.decode(Array(encoded.utf8)) == Array(plain.utf8))
    }

    @Test func usesStandardAlphabetNotURLSafe() {
        #expect(Base64.encode([0xfb, 0xff, 0xbf]) == "+/+/")
    }

    @Test func decodeSkipsLineBreaksButRejectsGarbage() {
        #expect(Base64.decode(Array("Zm9v\r\nYmFy".utf8)) == Array("foobar".utf8))
        #expect(Base64.decode(Array("Zm9v-_==".utf8)) == nil)
        #expect(Base64.decode(Array("Zm9".utf8)) == nil)
        #expect(Base64.decode(Array("Zg==Zg==".utf8)) == nil)
        #expect(Base64.decode(Array("Z===".utf8)) == nil)
    }
}

@Suite struct HexTests {
    @Test func roundTrip() {
        #expect(Hex.encode([0x00, 0xab, 0xff]) == "00abff")
        #expect(Hex.encode([0xde, 0xad], separator: ":") == "de:ad")
        #expect(Hex.decode("00ABff") == [0x00, 0xab, 0xff])
        #expect(Hex.decode("abc") == nil)
        #expect(Hex.decode("zz") == nil)
    }
}

@Suite struct PEMTests {
    @Test func encodeThenDecodeAll() {
        let der: [UInt8] = Array(0..<200).map { UInt8($0) }
        let text = PEM.encode(der, label: "CERTIFICATE") + "junk between\n" + PEM.encode([1, 2, 3], label: "CERTIFICATE")
        #expect(text.split(separator: "\n").allSatisfy { $0.count <= 64 })
        let blocks = PEM.decodeAll(Array(text.utf8), label: "CERTIFICATE")
        #expect(blocks == [der, [1, 2, 3]])
        #expect(PEM.decodeAll(Array(text.utf8), label: "PRIVATE KEY") == [])
    }

    @Test func unterminatedOrCorruptBlockIsAnError() {
        #expect(PEM.decodeAll(Array("-----BEGIN X-----\nZm9v\n".utf8), label: "X") == nil)
        #expect(PEM.decodeAll(Array("-----BEGIN X-----\nZm9v!\n-----END X-----\n".utf8), label: "X") == nil)
    }
}

@Suite struct PercentEncodingTests {
    @Test func escapesBase64Specials() {
        #expect(PercentEncoding.encodeQueryValue("a+b/c=") == "a%2Bb%2Fc%3D")
        #expect(PercentEncoding.encodeQueryValue("AZaz09-._~") == "AZaz09-._~")
    }
}

@Suite struct ASCIICaseTests {
    @Test func foldsOnlyASCII() {
        #expect("Content-LENGTH".asciiLowercased == "content-length")
        #expect("ab:cd".asciiUppercased == "AB:CD")
        #expect("Äpfel".asciiLowercased == "Äpfel")
        #expect("GetNextCACert".equalsIgnoringASCIICase("getnextcacert"))
        #expect(!"Content-Length".equalsIgnoringASCIICase("Content-Lengt"))
        // The Kelvin sign (U+212A) lowercases to "k" in Unicode; a protocol keyword must not match it.
        #expect(!"\u{212A}eep-Alive".equalsIgnoringASCIICase("keep-alive"))
        #expect("HTTPS://host/".hasPrefixIgnoringASCIICase("https://"))
        #expect(!"http".hasPrefixIgnoringASCIICase("https://"))
        #expect(" \tCN = dev\t ".trimmingASCIIWhitespace == "CN = dev")
        #expect("  clientAuth ".trimmingASCIISpaces == "clientAuth")
        #expect("\tclientAuth".trimmingASCIISpaces == "\tclientAuth")
        #expect("   ".trimmingASCIIWhitespace.isEmpty)
    }
}

@Suite struct QuotedStringTests {
    @Test func escapesQuotesBackslashesAndEveryControlCharacter() {
        #expect(QuotedString.quote("plain", controls: .hex) == "\"plain\"")
        #expect(QuotedString.quote("say \"hi\" \\ bye", controls: .unicode) == "\"say \\\"hi\\\" \\\\ bye\"")
        #expect(QuotedString.quote("a\nb\rc\td", controls: .hex) == "\"a\\nb\\rc\\td\"")
        #expect(QuotedString.quote("\u{1b}[31m\u{7f}", controls: .hex) == "\"\\x1b[31m\\x7f\"")
        #expect(QuotedString.quote("\u{1b}[31m\u{7f}", controls: .unicode) == "\"\\u001b[31m\\u007f\"")
        #expect(QuotedString.quote("\u{0}", controls: .unicode) == "\"\\u0000\"")
        // Non-ASCII text is kept as it is: a subject may be UTF-8.
        #expect(QuotedString.quote("Gerät é", controls: .unicode) == "\"Gerät é\"")
    }
}

@Suite struct TerminalTextTests {
    @Test func controlCharactersNeverReachTheTerminal() {
        #expect(TerminalText.escaped("CN=dev-0042,O=Acme") == "CN=dev-0042,O=Acme")
        // An escape sequence (ESC [ 31 m), a C1 control (U+0085 NEXT LINE), DEL and a newline.
        #expect(TerminalText.escaped("a\u{1b}[31mb\u{85}c\u{7f}d\ne") == "a\\x1b[31mb\\x85c\\x7fd\\x0ae")
        // Backslashes double, so an escape read back is never ambiguous.
        #expect(TerminalText.escaped("x\\x1b") == "x\\\\x1b")
        #expect(TerminalText.escaped("Grüße") == "Grüße")
    }
}

/// The byte-wise text helpers agree with the standard library's Character-wise operations on
/// ASCII, which is all they are used for, and compare bytes where the two would differ.
@Suite struct UTF8TextTests {
    static let samples = ["", "a", "--url", "--url=http://h/", "gen-000001", "key.tpm", "a,,b,", ",x", "DNS:a:b", "%", "50%"]

    @Test func prefixesAndSuffixesMatchTheStandardLibraryOnASCII() {
        for text in Self.samples {
            for other in Self.samples + ["-", "--", "gen-", "%", "b,", "url"] {
                #expect(text.hasUTF8Prefix(other) == text.hasPrefix(other), "\(text) / \(other)")
                #expect(text.hasUTF8Suffix(other) == text.hasSuffix(other), "\(text) / \(other)")
            }
        }
    }

    @Test func splitsMatchTheStandardLibraryOnASCII() {
        for text in Self.samples {
            for separator in [",", ":", "="] {
                let byte = separator.utf8.first!
                #expect(text.splitUTF8(at: byte) == text.split(separator: Character(separator)).map(String.init))
                #expect(text.splitUTF8(at: byte, maxSplits: 1, omittingEmpty: false)
                        == text.split(separator: Character(separator), maxSplits: 1, omittingEmptySubsequences: false).map(String.init))
            }
        }
    }

    @Test func droppingCountsBytes() {
        #expect("gen-000042".droppingUTF8Prefix(4) == "000042")
        #expect("example.".droppingUTF8Suffix(1) == "example")
        #expect("ab".droppingUTF8Prefix(5) == "")
        #expect("é=1".droppingUTF8Prefix(2) == "=1") // é is two bytes
    }

    /// "e" + COMBINING ACUTE is one Character that does not start with "e"; its bytes do.
    @Test func comparesBytesNotCharacters() {
        let decomposed = "e\u{301}x"
        #expect(!decomposed.hasPrefix("e"))
        #expect(decomposed.hasUTF8Prefix("e"))
        #expect("café".hasUTF8Suffix("é"))
        #expect(!"cafe\u{301}".hasUTF8Suffix("é")) // canonically equal, different bytes
    }
}

@Suite struct InsertionSortTests {
    /// The standard library's sort is stable too, so the two must agree element for element,
    /// equal keys included.
    @Test func agreesWithTheStandardLibrarysStableSort() {
        var generator = SystemRandomNumberGenerator()
        for count in [0, 1, 2, 3, 7, 16, 40] {
            for _ in 0..<20 {
                let items = (0..<count).map { (key: Int.random(in: 0..<5, using: &generator), order: $0) }
                let ours = items.insertionSorted { $0.key < $1.key }
                let theirs = items.sorted { $0.key < $1.key }
                #expect(ours.map(\.key) == theirs.map(\.key))
                #expect(ours.map(\.order) == theirs.map(\.order))
            }
        }
    }
}
