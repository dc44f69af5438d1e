/// The commands of `scep-agent`, with what each needs before it can start.
public enum Command: String, Equatable, Sendable {
    case caps, getca, enroll, renew, run, status

    public static let all: [Command] = [.caps, .getca, .enroll, .renew, .run, .status]

    public init?(name: String) {
        for command in Command.all where command.rawValue == name {
            self = command
            return
        }
        return nil
    }

    public var summary: String {
        switch self {
        case .caps: "GetCACaps: print the server's capabilities, one per line"
        case .getca: "GetCACert: fetch the CA certificates, check the pin, print each subject and fingerprint"
        case .enroll: "first enrollment (PKCSReq) with the challenge password"
        case .renew: "RenewalReq signed with the current certificate; a new key unless --reuse-key"
        case .run: "the daemon: enroll if needed, then renew before expiry, forever, in the foreground"
        case .status: "the identity in the keystore: subject, issuer, serial, validity, next renewal"
        }
    }
}
