/// AlgorithmIdentifier ::= SEQUENCE { algorithm OBJECT IDENTIFIER, parameters ANY OPTIONAL }
public struct AlgorithmIdentifier: Equatable, Sendable, DERParseable, DERSerializable {
    public let algorithm: ObjectIdentifier
    /// The parameters' whole encoding (NULL, an IV OCTET STRING, a named curve...), or nil when absent.
    public let parameters: [UInt8]?

    public init(_ algorithm: ObjectIdentifier, parameters: [UInt8]? = nil) {
        self.algorithm = algorithm
        self.parameters = parameters
    }

    /// With explicit NULL parameters, as RSA algorithms want (RFC 4055 section 5).
    public static func withNull(_ algorithm: ObjectIdentifier) -> AlgorithmIdentifier {
        AlgorithmIdentifier(algorithm, parameters: [DERTag.null, 0])
    }

    /// With an OBJECT IDENTIFIER as parameters (an EC key's named curve, a key-wrap algorithm).
    public init(_ algorithm: ObjectIdentifier, parameter: ObjectIdentifier) {
        self.init(algorithm, parameters: parameter.derEncoded)
    }

    public static var derName: String { "AlgorithmIdentifier" }

    public init(derElement element: DERElement) throws(DERError) {
        (algorithm, parameters) = try element.sequence { (fields) throws(DERError) in
            (try fields.readObjectIdentifier(), fields.isAtEnd ? nil : Array(try fields.read().encoded))
        }
    }

    public func serialize(into writer: inout DERWriter) {
        writer.writeSequence { writer in
            writer.write(algorithm)
            if let parameters { writer.writeEncoded(parameters) }
        }
    }

    /// The parameters read as an OBJECT IDENTIFIER, if they are one.
    public var parameterIdentifier: ObjectIdentifier? {
        guard let parameters else { return nil }
        return try? ObjectIdentifier(derEncoded: parameters)
    }

    /// Whether the parameters are absent or NULL, as they must be for RSA and digest algorithms.
    public var hasNoParameters: Bool { parameters == nil || parameters! == [DERTag.null, 0] }
}
