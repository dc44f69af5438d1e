/// messageType (RFC 8894 section 3.2.1.2), a PrintableString of decimal digits on the wire.
public enum MessageType: String, Equatable, Sendable {
    case certRep = "3"
    case renewalReq = "17"
    case pkcsReq = "19"
    case certPoll = "20"
    case getCert = "21"
    case getCRL = "22"

    public var name: String {
        switch self {
        case .certRep: "CertRep"
        case .renewalReq: "RenewalReq"
        case .pkcsReq: "PKCSReq"
        case .certPoll: "CertPoll"
        case .getCert: "GetCert"
        case .getCRL: "GetCRL"
        }
    }
}

/// pkiStatus (section 3.2.1.3).
public enum PKIStatus: String, Equatable, Sendable {
    case success = "0"
    case failure = "2"
    case pending = "3"
}

/// failInfo (section 3.2.1.4).
public enum FailInfo: String, Equatable, Sendable {
    case badAlg = "0"
    case badMessageCheck = "1"
    case badRequest = "2"
    case badTime = "3"
    case badCertId = "4"

    public var name: String {
        switch self {
        case .badAlg: "badAlg"
        case .badMessageCheck: "badMessageCheck"
        case .badRequest: "badRequest"
        case .badTime: "badTime"
        case .badCertId: "badCertId"
        }
    }

    public var meaning: String {
        switch self {
        case .badAlg: "unrecognized or unsupported algorithm"
        case .badMessageCheck: "integrity check (signature) failed"
        case .badRequest: "transaction not permitted or supported"
        case .badTime: "signingTime too far from the server's time"
        case .badCertId: "no certificate could be identified matching the criteria"
        }
    }
}
