/// AlgorithmIdentifier ::= SEQUENCE { algorithm OBJECT IDENTIFIER, parameters ANY OPTIONAL }
public struct AlgorithmIdentifier: Equatable, Sendable {
    public let algorithm: ObjectIdentifier
    /// The parameters' whole encoding (NULL, an IV OCTET STRING...), or nil when absent.
    public let parameters: [UInt8]?

    public init(_ algorithm: ObjectIdentifier, parameters: [UInt8]? = nil) {
        self.algorithm = algorithm
        self.parameters = parameters
    }

    /// With explicit NULL parameters, as RSA algorithms want (RFC 4055 section 5).
    public static func withNull(_ algorithm: ObjectIdentifier) -> AlgorithmIdentifier {
        AlgorithmIdentifier(algorithm, parameters: DER.null())
    }

    public var der: [UInt8] {
        DER.sequence([DER.objectIdentifier(algorithm), parameters ?? []])
    }

    public init(from reader: inout DERReader, _ context: String) throws(DERError) {
        var fields = try reader.enterSequence(context)
        algorithm = try fields.readObjectIdentifier()
        parameters = fields.isAtEnd ? nil : Array(try fields.read().encoded)
        try fields.finish()
    }
}
