import ASN1

/// IssuerAndSerialNumber ::= SEQUENCE { issuer Name, serialNumber INTEGER } (RFC 5652 10.2.4):
/// how CMS names a certificate, and what SCEP's GetCert asks for.
public struct IssuerAndSerialNumber: Equatable, Sendable {
    public let issuerDER: [UInt8]
    public let serialNumber: [UInt8]

    public init(issuerDER: [UInt8], serialNumber: [UInt8]) {
        self.issuerDER = issuerDER
        self.serialNumber = serialNumber
    }

    public init(_ certificate: Certificate) {
        self.init(issuerDER: certificate.issuerDER, serialNumber: certificate.serialNumber)
    }

    public var der: [UInt8] { DER.sequence([issuerDER, DER.tlv(DERTag.integer, serialNumber)]) }

    public init(from reader: inout DERReader, _ context: String) throws(DERError) {
        var fields = try reader.enterSequence(context)
        issuerDER = Array(try fields.read(DERTag.sequence).encoded)
        serialNumber = Array(try fields.readIntegerBytes())
        try fields.finish()
    }

    public func identifies(_ certificate: Certificate) -> Bool {
        certificate.issuerDER == issuerDER && certificate.serialNumber == serialNumber
    }
}
