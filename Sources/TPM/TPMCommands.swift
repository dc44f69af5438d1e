import Crypto
import Platform

/// One open line to a TPM: sends a marshalled command and reads the response into a buffer,
/// returning its length. Made by `TPM.connect` over a device or a port; tests give it a
/// scripted peer.
public final class TPMConnection {
    let exchange: (SecretBytes, SecretBytes) throws(TPMError) -> Int
    let close: () -> Void
    /// Set by the first failure to send, receive or frame a response: the stream may be out of
    /// step, so nothing more is sent on it (not even the flushes; a resource manager does them
    /// when the connection closes, and without one the next session sweeps).
    var broken = false

    public init(exchange: @escaping (SecretBytes, SecretBytes) throws(TPMError) -> Int, close: @escaping () -> Void) {
        self.exchange = exchange
        self.close = close
    }
}

/// The TPM 2.0 commands the agent needs (TPM 2.0 Part 3), each marshalled here and its response
/// read back with every length checked. Authorization is by password sessions only (TPM_RS_PW),
/// which is all a key with no policy under an owner hierarchy needs.
struct TPMCommands {
    let connection: TPMConnection

    /// Bytes reserved for one response: a TPM's are at most a few KiB.
    static let responseCapacity = TPMChannel.responseLimit

    /// The response of one command: its handles and its parameter area.
    struct Response {
        var handles: [UInt32]
        var parameters: TPMReader
    }

    /// Runs one command and hands its response to `parse`. `authorizations` holds one password
    /// per handle that needs one (the first handles, in order). The command (which may carry a
    /// password) and the response (which may carry a content key) live in `SecretBytes` that are
    /// wiped when the command is done. Transient "busy" answers are retried a few times.
    func run<Result>(_ code: UInt32, _ name: StaticString, handles: [UInt32], authorizations: [SecretBytes] = [],
                     parameters: [UInt8], responseHandles: Int = 0,
                     parse: (inout Response) throws(TPMError) -> Result) throws(TPMError) -> Result {
        let command = TPMCommands.marshal(code, handles: handles, authorizations: authorizations, parameters: parameters)
        defer { command.wipe() }
        let response = SecretBytes(count: TPMCommands.responseCapacity)
        defer { response.wipe() }
        var attempt = 0
        while true {
            guard !connection.broken else { throw TPMError(.connectionLost, command: name) }
            let length: Int
            do throws(TPMError) { length = try connection.exchange(command, response) } catch {
                connection.broken = true
                throw error.during(name)
            }
            var parsed: Response
            do throws(TPMError) {
                parsed = try TPMCommands.readResponse(response, length: length, sessions: !authorizations.isEmpty,
                                                      responseHandles: responseHandles)
            } catch {
                if case .response = error.kind {
                    attempt += 1
                    if error.isTransient && attempt < 5 { continue }
                } else {
                    connection.broken = true
                }
                throw error.during(name)
            }
            do throws(TPMError) { return try parse(&parsed) } catch { throw error.during(name) }
        }
    }

    /// The whole command in one buffer of its exact size, so a password in it is never copied by
    /// a growing array.
    static func marshal(_ code: UInt32, handles: [UInt32], authorizations: [SecretBytes], parameters: [UInt8]) -> SecretBytes {
        var authorizationSize = 0
        for password in authorizations { authorizationSize += 4 + 2 + 1 + 2 + password.count }
        let size = 10 + 4 * handles.count + (authorizations.isEmpty ? 0 : 4 + authorizationSize) + parameters.count
        let command = SecretBytes(count: size)
        command.withMutableBytes { out in
            var at = 0
            func u16(_ value: UInt16) {
                out[at] = UInt8(truncatingIfNeeded: value >> 8)
                out[at + 1] = UInt8(truncatingIfNeeded: value)
                at += 2
            }
            func u32(_ value: UInt32) {
                u16(UInt16(truncatingIfNeeded: value >> 16))
                u16(UInt16(truncatingIfNeeded: value))
            }
            u16(authorizations.isEmpty ? TPMTag.noSessions : TPMTag.sessions)
            u32(UInt32(size))
            u32(code)
            for handle in handles { u32(handle) }
            if !authorizations.isEmpty {
                u32(UInt32(authorizationSize))
                for password in authorizations {
                    u32(TPMHandle.passwordSession)
                    u16(0) // nonce
                    out[at] = 0 // session attributes
                    at += 1
                    u16(UInt16(password.count))
                    password.withBytes { for byte in $0 { out[at] = byte; at += 1 } }
                }
            }
            for byte in parameters { out[at] = byte; at += 1 }
        }
        return command
    }

    static func readResponse(_ bytes: SecretBytes, length: Int, sessions: Bool, responseHandles: Int) throws(TPMError) -> Response {
        var reader = TPMReader(bytes, length: length)
        let tag = try reader.u16("response tag")
        let size = try reader.u32("response size")
        guard length >= 10, size == UInt32(length) else { throw TPMError(.malformed("response size")) }
        let code = try reader.u32("response code")
        guard code == 0 else { throw TPMError(.response(code)) }
        guard tag == (sessions ? TPMTag.sessions : TPMTag.noSessions) else { throw TPMError(.malformed("response tag")) }
        var handles: [UInt32] = []
        for _ in 0..<responseHandles { handles.append(try reader.u32("response handle")) }
        if sessions {
            // The parameter area is sized; the password sessions' acknowledgements follow it.
            let parameterSize = try reader.length32("parameterSize")
            return Response(handles: handles, parameters: try reader.sub(parameterSize, "parameters"))
        }
        return Response(handles: handles, parameters: try reader.sub(reader.remaining, "parameters"))
    }

    // MARK: Commands

    /// TPM2_CreatePrimary under the owner hierarchy: returns the handle and the public area.
    func createPrimary(_ template: TPMPublicArea, ownerAuth: SecretBytes) throws(TPMError) -> (handle: UInt32, public: TPMPublicArea) {
        try run(TPMCommandCode.createPrimary, "TPM2_CreatePrimary", handles: [TPMHandle.owner],
                authorizations: [ownerAuth], parameters: TPMCommands.creationParameters(template),
                responseHandles: 1) { (response) throws(TPMError) in
            let outPublic = try response.parameters.sizedWhole("TPM2B_PUBLIC", maximum: 1024)
            return (response.handles[0], try TPMPublicArea(sized: outPublic))
        }
    }

    /// TPM2_Create under `parent`: returns the TPM2B_PRIVATE and TPM2B_PUBLIC, each with its size.
    func create(under parent: UInt32, _ template: TPMPublicArea) throws(TPMError) -> (private: [UInt8], public: [UInt8]) {
        try run(TPMCommandCode.create, "TPM2_Create", handles: [parent], authorizations: [SecretBytes([])],
                parameters: TPMCommands.creationParameters(template)) { (response) throws(TPMError) in
            let outPrivate = try response.parameters.sizedWhole("TPM2B_PRIVATE", maximum: TPMKeyFile.maximumPrivate)
            return (outPrivate, try response.parameters.sizedWhole("TPM2B_PUBLIC", maximum: 1024))
        }
    }

    /// TPM2_Load: `privateBlob` and `publicBlob` as TPM2B_PRIVATE and TPM2B_PUBLIC, sizes included.
    func load(under parent: UInt32, privateBlob: [UInt8], publicBlob: [UInt8]) throws(TPMError) -> UInt32 {
        var parameters = TPMWriter()
        parameters.append(privateBlob)
        parameters.append(publicBlob)
        return try run(TPMCommandCode.load, "TPM2_Load", handles: [parent], authorizations: [SecretBytes([])],
                       parameters: parameters.bytes, responseHandles: 1) { (response) throws(TPMError) in response.handles[0] }
    }

    /// TPM2_Sign with RSASSA (PKCS#1 v1.5) or ECDSA over `digest`; an unrestricted key needs no
    /// hash-check ticket (a NULL one is sent).
    func sign(_ key: UInt32, digest: [UInt8], hash: UInt16, isRSA: Bool) throws(TPMError) -> TPMSignature {
        var parameters = TPMWriter()
        parameters.sized(digest)
        parameters.u16(isRSA ? TPMAlgorithm.rsassa : TPMAlgorithm.ecdsa)
        parameters.u16(hash)
        parameters.u16(TPMTag.hashCheck)
        parameters.u32(TPMHandle.null)
        parameters.sized([UInt8]())
        return try run(TPMCommandCode.sign, "TPM2_Sign", handles: [key], authorizations: [SecretBytes([])],
                       parameters: parameters.bytes) { (response) throws(TPMError) -> TPMSignature in
            let algorithm = try response.parameters.u16("TPMT_SIGNATURE.sigAlg")
            guard try response.parameters.u16("TPMS_SIGNATURE.hash") == hash else { throw TPMError(.malformed("TPMS_SIGNATURE.hash")) }
            if isRSA {
                guard algorithm == TPMAlgorithm.rsassa else { throw TPMError(.malformed("TPMT_SIGNATURE.sigAlg")) }
                return .rsa(try response.parameters.sized("TPMS_SIGNATURE_RSA.sig", maximum: TPMPublicArea.maximumModulus))
            }
            guard algorithm == TPMAlgorithm.ecdsa else { throw TPMError(.malformed("TPMT_SIGNATURE.sigAlg")) }
            let r = try response.parameters.sized("TPMS_SIGNATURE_ECC.r", maximum: TPMPublicArea.maximumCoordinate)
            return .ecdsa(r: r, s: try response.parameters.sized("TPMS_SIGNATURE_ECC.s", maximum: TPMPublicArea.maximumCoordinate))
        }
    }

    /// TPM2_RSA_Decrypt with RSAES-PKCS1-v1_5 (CMS key transport).
    func rsaDecrypt(_ key: UInt32, _ ciphertext: [UInt8]) throws(TPMError) -> SecretBytes {
        var parameters = TPMWriter()
        parameters.sized(ciphertext)
        parameters.u16(TPMAlgorithm.rsaes)
        parameters.sized([UInt8]()) // label
        return try run(TPMCommandCode.rsaDecrypt, "TPM2_RSA_Decrypt", handles: [key], authorizations: [SecretBytes([])],
                       parameters: parameters.bytes) { (response) throws(TPMError) in
            try response.parameters.sizedSecret("TPM2B_PUBLIC_KEY_RSA", maximum: TPMPublicArea.maximumModulus)
        }
    }

    /// TPM2_ECDH_ZGen: the shared point d·P with the peer's point; its x-coordinate is Z.
    func ecdhZGen(_ key: UInt32, x: [UInt8], y: [UInt8]) throws(TPMError) -> SecretBytes {
        var parameters = TPMWriter()
        parameters.sized { point in
            point.sized(x)
            point.sized(y)
        }
        return try run(TPMCommandCode.ecdhZGen, "TPM2_ECDH_ZGen", handles: [key], authorizations: [SecretBytes([])],
                       parameters: parameters.bytes) { (response) throws(TPMError) in
            let size = Int(try response.parameters.u16("TPM2B_ECC_POINT.size"))
            var point = try response.parameters.sub(size, "TPM2B_ECC_POINT")
            return try point.sizedSecret("TPMS_ECC_POINT.x", maximum: TPMPublicArea.maximumCoordinate)
        }
    }

    /// TPM2_FlushContext: frees a transient object.
    func flush(_ handle: UInt32) throws(TPMError) {
        var parameters = TPMWriter()
        parameters.u32(handle)
        try run(TPMCommandCode.flushContext, "TPM2_FlushContext", handles: [], parameters: parameters.bytes) { (_) throws(TPMError) in }
    }

    /// TPM2_GetCapability(TPM_CAP_HANDLES) from the first transient handle: what is loaded now.
    func transientHandles() throws(TPMError) -> [UInt32] {
        var parameters = TPMWriter()
        parameters.u32(TPMCapability.handles)
        parameters.u32(TPMHandle.firstTransient)
        parameters.u32(64)
        return try run(TPMCommandCode.getCapability, "TPM2_GetCapability", handles: [],
                       parameters: parameters.bytes) { (response) throws(TPMError) -> [UInt32] in
            _ = try response.parameters.u8("moreData")
            guard try response.parameters.u32("TPMS_CAPABILITY_DATA.capability") == TPMCapability.handles else {
                throw TPMError(.malformed("TPMS_CAPABILITY_DATA.capability"))
            }
            let count = try response.parameters.u32("TPML_HANDLE.count")
            guard count <= 64 else { throw TPMError(.malformed("TPML_HANDLE.count")) }
            var handles: [UInt32] = []
            for _ in 0..<count {
                let handle = try response.parameters.u32("TPML_HANDLE.handle")
                if handle >= TPMHandle.firstTransient && handle < TPMHandle.firstPersistent { handles.append(handle) }
            }
            return handles
        }
    }

    /// TPM2B_SENSITIVE_CREATE (no auth value, no data), the template, no outside info, no PCRs.
    private static func creationParameters(_ template: TPMPublicArea) -> [UInt8] {
        var parameters = TPMWriter()
        parameters.sized { sensitive in
            sensitive.sized([UInt8]()) // userAuth
            sensitive.sized([UInt8]()) // data
        }
        parameters.append(template.sizedEncoding)
        parameters.sized([UInt8]()) // outsideInfo
        parameters.u32(0) // creationPCR: empty TPML_PCR_SELECTION
        return parameters.bytes
    }
}

/// A signature as the TPM gives it.
enum TPMSignature {
    case rsa([UInt8])
    case ecdsa(r: [UInt8], s: [UInt8])
}
