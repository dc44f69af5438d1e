import Crypto

/// One open line to a TPM: sends a marshalled command, returns the raw response. Made by
/// `TPM.connect` over a device or a port; tests give it a scripted peer.
public final class TPMConnection {
    let exchange: ([UInt8]) throws(TPMError) -> [UInt8]
    let close: () -> Void

    public init(exchange: @escaping ([UInt8]) throws(TPMError) -> [UInt8], close: @escaping () -> Void) {
        self.exchange = exchange
        self.close = close
    }
}

/// The TPM 2.0 commands the agent needs (TPM 2.0 Part 3), each marshalled here and its response
/// read back with every length checked. Authorization is by password sessions only (TPM_RS_PW),
/// which is all a key with no policy under an owner hierarchy needs.
struct TPMCommands {
    let connection: TPMConnection

    /// The response of one command: its handles and its parameter area.
    struct Response {
        var handles: [UInt32]
        var parameters: TPMReader
    }

    /// Runs one command. `authorizations` holds one password per handle that needs one (the
    /// first handles, in order). Transient "busy" answers are retried a few times.
    func run(_ code: UInt32, _ name: StaticString, handles: [UInt32], authorizations: [SecretBytes] = [],
             parameters: [UInt8], responseHandles: Int = 0) throws(TPMError) -> Response {
        var command = TPMWriter()
        command.u16(authorizations.isEmpty ? TPMTag.noSessions : TPMTag.sessions)
        command.u32(0) // size, set below
        command.u32(code)
        for handle in handles { command.u32(handle) }
        if !authorizations.isEmpty {
            var area = TPMWriter()
            for password in authorizations {
                area.u32(TPMHandle.passwordSession)
                area.sized([UInt8]()) // nonce
                area.u8(0) // session attributes
                password.withBytes { area.sized($0) }
            }
            command.u32(UInt32(area.bytes.count))
            command.append(area.bytes)
        }
        command.append(parameters)
        var bytes = command.bytes
        let size = UInt32(bytes.count)
        bytes[2] = UInt8(size >> 24 & 0xff)
        bytes[3] = UInt8(size >> 16 & 0xff)
        bytes[4] = UInt8(size >> 8 & 0xff)
        bytes[5] = UInt8(size & 0xff)
        defer { if !authorizations.isEmpty { for index in bytes.indices { bytes[index] = 0 } } }

        var attempt = 0
        while true {
            do throws(TPMError) {
                return try readResponse(try connection.exchange(bytes), sessions: !authorizations.isEmpty,
                                        responseHandles: responseHandles)
            } catch {
                attempt += 1
                guard error.isTransient, attempt < 5 else { throw error.during(name) }
            }
        }
    }

    private func readResponse(_ bytes: [UInt8], sessions: Bool, responseHandles: Int) throws(TPMError) -> Response {
        var reader = TPMReader(bytes)
        let tag = try reader.u16("response tag")
        let size = try reader.u32("response size")
        guard Int(size) == bytes.count else { throw TPMError(.malformed("response size")) }
        let code = try reader.u32("response code")
        guard code == 0 else { throw TPMError(.response(code)) }
        guard tag == (sessions ? TPMTag.sessions : TPMTag.noSessions) else { throw TPMError(.malformed("response tag")) }
        var handles: [UInt32] = []
        for _ in 0..<responseHandles { handles.append(try reader.u32("response handle")) }
        if sessions {
            // The parameter area is sized; the password sessions' acknowledgements follow it.
            let parameterSize = Int(try reader.u32("parameterSize"))
            return Response(handles: handles, parameters: try reader.sub(parameterSize, "parameters"))
        }
        return Response(handles: handles, parameters: try reader.sub(reader.remaining, "parameters"))
    }

    // MARK: Commands

    /// TPM2_CreatePrimary under the owner hierarchy: returns the handle and the public area.
    func createPrimary(_ template: TPMPublicArea, ownerAuth: SecretBytes) throws(TPMError) -> (handle: UInt32, public: TPMPublicArea) {
        var response = try run(TPMCommandCode.createPrimary, "TPM2_CreatePrimary", handles: [TPMHandle.owner],
                               authorizations: [ownerAuth], parameters: TPMCommands.creationParameters(template),
                               responseHandles: 1)
        let outPublic = try response.parameters.sized("TPM2B_PUBLIC", maximum: 1024)
        var publicWriter = TPMWriter()
        publicWriter.sized(outPublic)
        let area = try TPMPublicArea(sized: publicWriter.bytes)
        return (response.handles[0], area)
    }

    /// TPM2_Create under `parent`: returns the TPM2B_PRIVATE and TPM2B_PUBLIC, each with its size.
    func create(under parent: UInt32, _ template: TPMPublicArea) throws(TPMError) -> (private: [UInt8], public: [UInt8]) {
        var response = try run(TPMCommandCode.create, "TPM2_Create", handles: [parent], authorizations: [SecretBytes([])],
                               parameters: TPMCommands.creationParameters(template))
        let outPrivate = try response.parameters.sized("TPM2B_PRIVATE", maximum: 1024)
        let outPublic = try response.parameters.sized("TPM2B_PUBLIC", maximum: 1024)
        var privateWriter = TPMWriter()
        privateWriter.sized(outPrivate)
        var publicWriter = TPMWriter()
        publicWriter.sized(outPublic)
        return (privateWriter.bytes, publicWriter.bytes)
    }

    /// TPM2_Load: `privateBlob` and `publicBlob` as TPM2B_PRIVATE and TPM2B_PUBLIC, sizes included.
    func load(under parent: UInt32, privateBlob: [UInt8], publicBlob: [UInt8]) throws(TPMError) -> UInt32 {
        var parameters = TPMWriter()
        parameters.append(privateBlob)
        parameters.append(publicBlob)
        let response = try run(TPMCommandCode.load, "TPM2_Load", handles: [parent], authorizations: [SecretBytes([])],
                               parameters: parameters.bytes, responseHandles: 1)
        return response.handles[0]
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
        var response = try run(TPMCommandCode.sign, "TPM2_Sign", handles: [key], authorizations: [SecretBytes([])],
                               parameters: parameters.bytes)
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

    /// TPM2_RSA_Decrypt with RSAES-PKCS1-v1_5 (CMS key transport).
    func rsaDecrypt(_ key: UInt32, _ ciphertext: [UInt8]) throws(TPMError) -> SecretBytes {
        var parameters = TPMWriter()
        parameters.sized(ciphertext)
        parameters.u16(TPMAlgorithm.rsaes)
        parameters.sized([UInt8]()) // label
        var response = try run(TPMCommandCode.rsaDecrypt, "TPM2_RSA_Decrypt", handles: [key], authorizations: [SecretBytes([])],
                               parameters: parameters.bytes)
        return SecretBytes(try response.parameters.sized("TPM2B_PUBLIC_KEY_RSA", maximum: TPMPublicArea.maximumModulus))
    }

    /// TPM2_ECDH_ZGen: the shared point d·P with the peer's point; its x-coordinate is Z.
    func ecdhZGen(_ key: UInt32, x: [UInt8], y: [UInt8]) throws(TPMError) -> SecretBytes {
        var parameters = TPMWriter()
        parameters.sized { point in
            point.sized(x)
            point.sized(y)
        }
        var response = try run(TPMCommandCode.ecdhZGen, "TPM2_ECDH_ZGen", handles: [key], authorizations: [SecretBytes([])],
                               parameters: parameters.bytes)
        let size = Int(try response.parameters.u16("TPM2B_ECC_POINT.size"))
        var point = try response.parameters.sub(size, "TPM2B_ECC_POINT")
        let zx = try point.sized("TPMS_ECC_POINT.x", maximum: TPMPublicArea.maximumCoordinate)
        return SecretBytes(zx)
    }

    /// TPM2_FlushContext: frees a transient object.
    func flush(_ handle: UInt32) throws(TPMError) {
        var parameters = TPMWriter()
        parameters.u32(handle)
        _ = try run(TPMCommandCode.flushContext, "TPM2_FlushContext", handles: [], parameters: parameters.bytes)
    }

    /// TPM2_GetCapability(TPM_CAP_HANDLES) from the first transient handle: what is loaded now.
    func transientHandles() throws(TPMError) -> [UInt32] {
        var parameters = TPMWriter()
        parameters.u32(TPMCapability.handles)
        parameters.u32(TPMHandle.firstTransient)
        parameters.u32(64)
        var response = try run(TPMCommandCode.getCapability, "TPM2_GetCapability", handles: [], parameters: parameters.bytes)
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
