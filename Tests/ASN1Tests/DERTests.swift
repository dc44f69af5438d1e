import Testing
@testable import ASN1

@Suite struct DERReaderTests {
    @Test func readsNestedElementsAndKeepsEncodings() throws {
        let encoded = DER.sequence([DER.integer(5), DER.octetString([1, 2]), DER.objectIdentifier(OID.sha256)])
        var outer = try DERReader(encoded, context: "test")
        var inner = try outer.enterSequence("test.inner")
        try outer.finish()
        #expect(try inner.readSmallInteger() == 5)
        #expect(Array(try inner.readOctetString()) == [1, 2])
        #expect(try inner.readObjectIdentifier() == OID.sha256)
        try inner.finish()
    }

    @Test func longLengthsRoundTrip() throws {
        let big = [UInt8](repeating: 0x55, count: 70_000)
        let encoded = DER.octetString(big)
        #expect(Array(encoded.prefix(5)) == [0x04, 0x83, 0x01, 0x11, 0x70])
        var reader = try DERReader(encoded, context: "big")
        #expect(try reader.readOctetString().count == 70_000)
    }

    @Test("malformed input is refused with a reason and a place", arguments: [
        ([0x30], "truncated"),
        ([0x30, 0x05, 0x02, 0x01], "truncated"),
        ([0x30, 0x80, 0x00, 0x00], "invalid length"),
        ([0x04, 0x85, 1, 1, 1, 1, 1], "invalid length"),
        ([0x1f, 0x01, 0x00], "unsupported tag"),
        ([0x04, 0x84, 0xff, 0xff, 0xff, 0xff], "truncated"),
    ] as [([UInt8], String)])
    func malformed(bytes: [UInt8], reason: String) {
        do throws(DERError) {
            var reader = try DERReader(bytes, context: "Thing")
            _ = try reader.read()
            Issue.record("expected an error")
        } catch {
            #expect(error.description == "malformed Thing: \(reason)")
        }
    }

    @Test func deepNestingIsRefused() throws {
        var encoded: [UInt8] = DER.null()
        for _ in 0..<40 { encoded = DER.sequence([encoded]) }
        var top = try DERReader(encoded, context: "deep")
        var element = try top.read()
        var failed = false
        for _ in 0..<40 {
            do throws(DERError) {
                var reader = try element.reader("deep")
                element = try reader.read()
            } catch {
                #expect(error.reason == .tooDeep)
                failed = true
                break
            }
        }
        #expect(failed)
    }

    @Test func integersAreMinimalAndPositive() {
        #expect(DER.integer(0) == [0x02, 0x01, 0x00])
        #expect(DER.integer(128) == [0x02, 0x02, 0x00, 0x80])
        #expect(DER.integer(unsignedBytes: [0, 0, 0xff]) == [0x02, 0x02, 0x00, 0xff])
    }

    @Test func setOfIsSorted() {
        let set = DER.setOf([DER.integer(3), DER.integer(1), DER.octetString([0])])
        #expect(set == DER.tlv(DERTag.set, [DER.integer(1), DER.integer(3), DER.octetString([0])]))
    }
}

@Suite struct ObjectIdentifierTests {
    @Test func encodesKnownValues() {
        #expect(OID.rsaEncryption.der == [0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01])
        #expect(OID.sha256.dotted == "2.16.840.1.101.3.4.2.1")
        #expect(OID.scepTransactionID.dotted == "2.16.840.1.113733.1.9.7")
        #expect(OID.scepMessageType.description == "messageType")
    }
}

@Suite struct DistinguishedNameTests {
    @Test func parsesRFC4514AndEncodesInReverse() throws {
        let name = try DistinguishedName(rfc4514: "CN=dev-0042, O=Acme\\, Inc., C=DE")
        #expect(name.attributes.map(\.type) == [OID.countryName, OID.organizationName, OID.commonName])
        #expect(name.value(of: OID.organizationName) == "Acme, Inc.")
        #expect(name.rfc4514String == "CN=dev-0042,O=Acme\\, Inc.,C=DE")
        var reader = try DERReader(name.der, context: "name")
        let reparsed = try DistinguishedName(der: try reader.read(), context: "name")
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
