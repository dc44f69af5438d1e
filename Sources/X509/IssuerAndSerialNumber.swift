import ASN1

/// IssuerAndSerialNumber ::= SEQUENCE { issuer Name, serialNumber INTEGER } (RFC 5652 10.2.4):
/// how CMS names a certificate, and what SCEP's GetCert asks for.
public struct IssuerAndSerialNumber: Equatable, Sendable, DERParseable, DERSerializable {
    public let issuerDER: [UInt8]
    public let serialNumber: [UInt8]

    public init(issuerDER: [UInt8], serialNumber: [UInt8]) {
        self.issuerDER = issuerDER
        self.serialNumber = serialNumber
    }

    public init(_ certificate: Certificate) {
        self.init(issuerDER: certificate.issuerDER, serialNumber: certificate.serialNumber)
    }

    public static var derName: String { "IssuerAndSerialNumber" }

    public init(derElement element: DERElement) throws(DERError) {
        (issuerDER, serialNumber) = try element.sequence { (fields) throws(DERError) in
            (Array(try fields.read(DERTag.sequence).encoded), Array(try fields.readIntegerBytes()))
        }
    }

    public func serialize(into writer: inout DERWriter) {
        writer.writeSequence { writer in
            writer.writeEncoded(issuerDER)
            writer.writeInteger(encoded: serialNumber)
        }
    }

    public func identifies(_ certificate: Certificate) -> Bool {
        certificate.issuerDER == issuerDER && certificate.serialNumber == serialNumber
    }
}
