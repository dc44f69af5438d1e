import Testing
@testable import ASN1

@Suite struct DERReaderTests {
    @Test func readsNestedElementsAndKeepsEncodings() throws {
        let encoded = DER.encode { writer in
            writer.writeSequence { writer in
                writer.writeInteger(5)
                writer.writeOctetString([1, 2])
                writer.write(OID.sha256)
            }
        }
        var outer = DERReader(encoded)
        var inner = try outer.enterSequence()
        try outer.finish()
        #expect(try inner.readSmallInteger() == 5)
        #expect(Array(try inner.readOctetString()) == [1, 2])
        #expect(try inner.readObjectIdentifier() == OID.sha256)
        try inner.finish()
    }

    @Test func longLengthsRoundTrip() throws {
        let big = [UInt8](repeating: 0x55, count: 70_000)
        let encoded = DER.encode { $0.writeOctetString(big) }
        #expect(Array(encoded.prefix(5)) == [0x04, 0x83, 0x01, 0x11, 0x70])
        var reader = DERReader(encoded)
        #expect(try reader.readOctetString().count == 70_000)
    }

    @Test("malformed input is refused with a reason and a place", arguments: [
        ([0x30], "truncated (byte 0)"),
        ([0x30, 0x05, 0x02, 0x01], "truncated (byte 0)"),
        ([0x30, 0x80, 0x00, 0x00], "indefinite length (BER, not DER) (byte 0)"),
        ([0x04, 0x85, 1, 1, 1, 1, 1], "invalid length (byte 0)"),
        ([0x1f, 0x01, 0x00], "unsupported tag (byte 0)"),
        ([0x04, 0x84, 0xff, 0xff, 0xff, 0xff], "truncated (byte 0)"),
        // What killed the 32-bit build before any pin check: a four-octet length past Int32.max.
        ([0x30, 0x84, 0xff, 0xff, 0xff, 0xf0, 0x00], "truncated (byte 0)"),
        ([0x30, 0x84, 0x80, 0x00, 0x00, 0x00], "truncated (byte 0)"),
        // DER's lengths are minimal: no long form for a short length, no leading zero octets.
        ([0x04, 0x81, 0x05, 1, 2, 3, 4, 5], "length not minimally encoded (byte 0)"),
        ([0x04, 0x82, 0x00, 0x80] + [UInt8](repeating: 0, count: 128), "length not minimally encoded (byte 0)"),
        ([0x04, 0x00, 0x04, 0x81, 0x01, 0x00], "length not minimally encoded (byte 2)"),
    ] as [([UInt8], String)])
    func malformed(bytes: [UInt8], reason: String) {
        do throws(DERError) {
            var reader = DERReader(bytes)
            while !reader.isAtEnd { _ = try reader.read() }
            Issue.record("expected an error")
        } catch {
            #expect(error.description == reason)
        }
    }

    @Test func errorsNameTheStructuresTheyFailedIn() {
        // A Certificate whose validity holds a time of the wrong form: the path names each type
        // on the way in, with no location written by hand.
        let bad = DER.encode { writer in
            writer.writeSequence { writer in
                writer.writeSequence { writer in
                    writer.writeInteger(1)
                    writer.write(AlgorithmIdentifier.withNull(OID.sha256WithRSAEncryption))
                    writer.writeSequence { _ in }
                    writer.writeSequence { writer in
                        writer.writePrimitive(DERTag.utcTime, Array("2601010000Z".utf8))
                        writer.writePrimitive(DERTag.utcTime, Array("260101000000Z".utf8))
                    }
                }
            }
        }
        do throws(DERError) {
            _ = try TestWrapper(derEncoded: bad)
            Issue.record("expected an error")
        } catch {
            #expect(error.path == ["TestWrapper", "Validity"])
            #expect(error.reason == .invalid(.time))
            #expect(error.description.hasPrefix("TestWrapper > Validity: invalid time (byte "))
        }
    }

    @Test func deepNestingIsRefused() throws {
        var encoded: [UInt8] = [DERTag.null, 0]
        for _ in 0..<40 { encoded = DER.encode { writer in writer.writeSequence { $0.writeEncoded(encoded) } } }
        var top = DERReader(encoded)
        var element = try top.read()
        var failed = false
        for _ in 0..<40 {
            do throws(DERError) {
                var reader = try element.reader()
                element = try reader.read()
            } catch {
                #expect(error.reason == .tooDeep)
                failed = true
                break
            }
        }
        #expect(failed)
    }

    @Test func smallIntegersFitThirtyOneBits() throws {
        var fits = DERReader([0x02, 0x04, 0x7f, 0xff, 0xff, 0xff])
        #expect(try fits.readSmallInteger() == Int(Int32.max))
        var tooBig = DERReader([0x02, 0x05, 0x00, 0x80, 0x00, 0x00, 0x00])
        #expect(throws: DERError.self) { try tooBig.readSmallInteger() }
        var negative = DERReader([0x02, 0x01, 0xff])
        #expect(throws: DERError.self) { try negative.readSmallInteger() }
    }

    @Test func integersAreMinimalAndPositive() {
        #expect(DER.encode { $0.writeInteger(0) } == [0x02, 0x01, 0x00])
        #expect(DER.encode { $0.writeInteger(128) } == [0x02, 0x02, 0x00, 0x80])
        #expect(DER.encode { $0.writeInteger(unsignedBytes: [0, 0, 0xff]) } == [0x02, 0x02, 0x00, 0xff])
    }

    @Test func setOfIsSorted() {
        let three = DER.encode { $0.writeInteger(3) }
        let one = DER.encode { $0.writeInteger(1) }
        let octets = DER.encode { $0.writeOctetString([0]) }
        let set = DER.encode { $0.writeSetOf([three, one, octets]) }
        #expect(set == [DERTag.set, 9] + one + three + octets)
    }

    @Test func constructedLengthsAreInsertedAfterTheContents() {
        let long = [UInt8](repeating: 7, count: 300)
        let encoded = DER.encode { writer in writer.writeSequence { $0.writeOctetString(long) } }
        #expect(Array(encoded.prefix(8)) == [0x30, 0x82, 0x01, 0x30, 0x04, 0x82, 0x01, 0x2c])
        #expect(encoded.count == 4 + 4 + 300)
    }
}

/// A SEQUENCE holding a TBSCertificate-like prefix and a Validity: enough to see error paths.
struct TestWrapper: DERParseable {
    static var derName: String { "TestWrapper" }

    init(derElement element: DERElement) throws(DERError) {
        try element.sequence { (fields) throws(DERError) in
            var tbs = try fields.enterSequence()
            _ = try tbs.readSmallInteger()
            _ = try tbs.decode(AlgorithmIdentifier.self)
            _ = try tbs.read()
            _ = try tbs.decode(TestValidity.self)
        }
    }
}

struct TestValidity: DERParseable {
    static var derName: String { "Validity" }

    init(derElement element: DERElement) throws(DERError) {
        try element.sequence { (fields) throws(DERError) in
            _ = try DERTime.parse(try fields.read())
            _ = try DERTime.parse(try fields.read())
        }
    }
}

@Suite struct ObjectIdentifierTests {
    @Test func encodesKnownValues() {
        #expect(OID.rsaEncryption.der == [0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01])
        #expect(OID.sha256.dotted == "2.16.840.1.101.3.4.2.1")
        #expect(OID.scepTransactionID.dotted == "2.16.840.1.113733.1.9.7")
        #expect(OID.scepMessageType.description == "messageType")
    }

    @Test func anOverlongArcIsShownNotTrapped() throws {
        var contents: [UInt8] = [0x2a]
        contents += [UInt8](repeating: 0xff, count: 20) + [0x7f]
        let identifier = try ObjectIdentifier(derEncoded: [DERTag.objectIdentifier, UInt8(contents.count)] + contents)
        #expect(identifier.dotted.hasPrefix("1.2."))
    }
}

@Suite struct DistinguishedNameTests {
    @Test func parsesRFC4514AndEncodesInReverse() throws {
        let name = try DistinguishedName(rfc4514: "CN=dev-0042, O=Acme\\, Inc., C=DE")
        #expect(name.attributes.map(\.type) == [OID.countryName, OID.organizationName, OID.commonName])
        #expect(name.value(of: OID.organizationName) == "Acme, Inc.")
        #expect(name.rfc4514String == "CN=dev-0042,O=Acme\\, Inc.,C=DE")
        let reparsed = try DistinguishedName(derEncoded: name.derEncoded)
        #expect(reparsed == name)
    }

    @Test func unicodeValuesBecomeUTF8String() throws {
        let name = try DistinguishedName(rfc4514: "CN=Gerät")
        #expect(name.attributes[0].stringTag == DERTag.utf8String)
    }

    @Test("bad subjects are refused", arguments: [
        "", "CN", "XX=1", "CN=", "CN=a+O=b", "C=Germany", "CN=a\\",
    ])
    func refused(text: String) {
        #expect(throws: DistinguishedName.TextError.self) { try DistinguishedName(rfc4514: text) }
    }
}
