import Platform

/// A failed TPM operation: the TPM's own response code, the device not answering, or a response
/// we could not read. The text says what a person can do about it; it never carries key
/// material or an authorization value.
public struct TPMError: Error, Sendable, CustomStringConvertible {
    public enum Kind: Equatable, Sendable {
        /// The device or port could not be opened, written or read.
        case device(SystemError)
        /// A response that is not a well-formed answer to the command: the named field did not fit.
        case malformed(StaticString)
        /// The TPM answered with this response code.
        case response(UInt32)
        /// The key file is not a TPM key this agent made (wrong type, parent or algorithm).
        case unsupportedKeyFile(StaticString)
        /// The key file's TPM structures do not parse: the named field did not fit.
        case malformedKeyFile(StaticString)
        /// An earlier command of this operation failed to send, receive or frame a response, so
        /// the connection was given up.
        case connectionLost
        /// The TPM made a key of other parameters than it was asked for.
        case unexpectedKey

        public static func == (lhs: Kind, rhs: Kind) -> Bool {
            switch (lhs, rhs) {
            case (.device(let a), .device(let b)): a == b
            case (.malformed(let a), .malformed(let b)): a.description == b.description
            case (.response(let a), .response(let b)): a == b
            case (.unsupportedKeyFile(let a), .unsupportedKeyFile(let b)): a.description == b.description
            case (.malformedKeyFile(let a), .malformedKeyFile(let b)): a.description == b.description
            case (.connectionLost, .connectionLost): true
            case (.unexpectedKey, .unexpectedKey): true
            default: false
            }
        }
    }

    public let kind: Kind
    /// The command that failed, for the message ("TPM2_Load").
    public let command: StaticString?

    init(_ kind: Kind, command: StaticString? = nil) {
        self.kind = kind
        self.command = command
    }

    func during(_ command: StaticString) -> TPMError { TPMError(kind, command: self.command ?? command) }

    /// The response code without its parameter, handle or session number (format-one codes
    /// carry those in bits 6 and 8 to 11).
    public var responseCode: UInt32? {
        guard case .response(let code) = kind else { return nil }
        return code & 0x80 != 0 ? code & 0xBF : code
    }

    /// A response that means "try again shortly": the TPM is busy, testing itself, or yielded.
    var isTransient: Bool {
        guard let code = responseCode else { return false }
        return code == 0x908 || code == 0x90A || code == 0x922 // yielded, testing, retry
    }

    public var description: String {
        let prefix = command.map { "TPM (\($0)): " } ?? "TPM: "
        switch kind {
        case .device(let error): return prefix + "the TPM device \(error)"
        case .malformed(let field): return prefix + "a malformed response (\(field))"
        case .unsupportedKeyFile(let what): return "TPM key file: \(what)"
        case .malformedKeyFile(let field): return "TPM key file: malformed (\(field))"
        case .connectionLost: return prefix + "the connection to the TPM failed earlier in this operation"
        case .unexpectedKey: return prefix + "the TPM made a key other than the one asked for"
        case .response(let code): return prefix + TPMError.explain(code)
        }
    }

    /// What the common response codes mean to whoever runs the device.
    static func explain(_ code: UInt32) -> String {
        let hex = "0x" + String(code, radix: 16)
        let base = code & 0x80 != 0 ? code & 0xBF : code
        let text: String
        switch base {
        case 0x921: text = "in dictionary-attack lockout; wait for the lockout to expire or clear it with the lockout authorization"
        case 0x902, 0x906, 0x903, 0x904: text = "out of object or session memory; another program holds TPM objects"
        case 0x8E, 0xA2: text = "authorization failed: wrong owner or parent authorization (see --tpm-owner-auth-file)"
        case 0x100: text = "not started (TPM2_Startup was not sent; the kernel does this at boot)"
        case 0x101: text = "in failure mode; the TPM needs a reset"
        case 0x120: text = "the hierarchy or command is disabled"
        case 0x85: text = "the owner hierarchy is disabled"
        case 0x9F: text = "the key blob does not belong to this TPM or its parent (integrity check failed)"
        case 0x8B: text = "no such object handle"
        case 0x82: text = "the key's attributes do not allow this operation"
        case 0x84: text = "a value out of range for this TPM"
        case 0x87, 0x8A, 0x92, 0x95, 0x96, 0xA6: text = "the TPM does not support these key parameters"
        case 0x143: text = "the TPM does not implement this command"
        case 0x908, 0x90A, 0x922: text = "busy; try again"
        default: text = "failed"
        }
        return "\(text) (response code \(hex))"
    }
}
