import ASN1
import Crypto

/// TPMT_PUBLIC: an object's type, name algorithm, attributes and parameters, and (once the TPM
/// made it) its public key. The agent writes two kinds, the storage root and the device key,
/// and reads back what the TPM made to check it is what was asked for.
struct TPMPublicArea: Equatable {
    enum Key: Equatable {
        /// The modulus (empty in a template) and the exponent (0 means 65537).
        case rsa(bits: UInt16, modulus: [UInt8], exponent: UInt32)
        case ecc(curve: UInt16, x: [UInt8], y: [UInt8])
    }

    let attributes: UInt32
    /// The symmetric algorithm of a storage key (AES-128-CFB); nil for a device key.
    let storageCipher: Bool
    let key: Key

    /// Largest unique fields we accept: an RSA-4096 modulus, a P-521 coordinate.
    static let maximumModulus = 512
    static let maximumCoordinate = 66

    // MARK: Templates

    /// The storage root key under the owner hierarchy, as the TSS2 key-file convention makes it
    /// (tpm2-openssl, openssl_tpm2_engine): ECC P-256, AES-128-CFB, restricted decrypt, empty
    /// unique. The same template gives the same key on the same TPM, so nothing needs to be
    /// persisted in the TPM's NV memory, and other tools load the agent's keys under it.
    static let storageRoot = TPMPublicArea(
        attributes: TPMObjectAttribute.fixedTPM | TPMObjectAttribute.fixedParent | TPMObjectAttribute.sensitiveDataOrigin
            | TPMObjectAttribute.userWithAuth | TPMObjectAttribute.noDA | TPMObjectAttribute.restricted | TPMObjectAttribute.decrypt,
        storageCipher: true, key: .ecc(curve: TPMCurve.nistP256, x: [], y: []))

    /// A device key: made inside the TPM and never leaving it (fixedTPM, fixedParent,
    /// sensitiveDataOrigin), usable for signing (the CSR, the request's SignerInfo) and for
    /// decryption or key agreement (the reply's envelope), with the scheme chosen per use. noDA:
    /// its authorization is empty, so dictionary-attack protection would guard nothing, and
    /// would let any other program that fails an authorization lock the agent out of its key.
    static func deviceKey(_ type: KeyType) -> TPMPublicArea? {
        let attributes = TPMObjectAttribute.fixedTPM | TPMObjectAttribute.fixedParent | TPMObjectAttribute.sensitiveDataOrigin
            | TPMObjectAttribute.userWithAuth | TPMObjectAttribute.noDA | TPMObjectAttribute.sign | TPMObjectAttribute.decrypt
        switch type {
        case .rsa(let bits):
            guard bits == 2048 || bits == 3072 || bits == 4096 else { return nil }
            return TPMPublicArea(attributes: attributes, storageCipher: false,
                                 key: .rsa(bits: UInt16(bits), modulus: [], exponent: 0))
        case .ec(let curve):
            return TPMPublicArea(attributes: attributes, storageCipher: false,
                                 key: .ecc(curve: curve == .p256 ? TPMCurve.nistP256 : TPMCurve.nistP384, x: [], y: []))
        }
    }

    /// Whether a public area the TPM returned is an instance of this template: same type,
    /// parameters and attributes.
    func isInstance(of template: TPMPublicArea) -> Bool {
        guard attributes == template.attributes, storageCipher == template.storageCipher else { return false }
        switch (key, template.key) {
        case (.rsa(let bits, let modulus, let exponent), .rsa(let wanted, _, _)):
            return bits == wanted && modulus.count == Int(bits) / 8 && (exponent == 0 || exponent == 65537)
        case (.ecc(let curve, let x, let y), .ecc(let wanted, _, _)):
            return curve == wanted && !x.isEmpty && !y.isEmpty
        default:
            return false
        }
    }

    /// The agent's name for the key's kind.
    var keyType: KeyType? {
        switch key {
        case .rsa(let bits, _, _): KeyType(name: "rsa:\(bits)")
        case .ecc(let curve, _, _): curve == TPMCurve.nistP256 ? .ec(.p256) : curve == TPMCurve.nistP384 ? .ec(.p384) : nil
        }
    }

    // MARK: Encoding

    func marshal(into writer: inout TPMWriter) {
        writer.u16(isRSA ? TPMAlgorithm.rsa : TPMAlgorithm.ecc)
        writer.u16(TPMAlgorithm.sha256)
        writer.u32(attributes)
        writer.sized([UInt8]()) // authPolicy: none
        if storageCipher {
            writer.u16(TPMAlgorithm.aes)
            writer.u16(128)
            writer.u16(TPMAlgorithm.cfb)
        } else {
            writer.u16(TPMAlgorithm.null)
        }
        writer.u16(TPMAlgorithm.null) // scheme: chosen per operation
        switch key {
        case .rsa(let bits, let modulus, let exponent):
            writer.u16(bits)
            writer.u32(exponent)
            writer.sized(modulus)
        case .ecc(let curve, let x, let y):
            writer.u16(curve)
            writer.u16(TPMAlgorithm.null) // kdf
            writer.sized(x)
            writer.sized(y)
        }
    }

    /// TPM2B_PUBLIC: the public area behind its size, as commands and key files carry it.
    var sizedEncoding: [UInt8] {
        var writer = TPMWriter()
        writer.sized { marshal(into: &$0) }
        return writer.bytes
    }

    var isRSA: Bool { if case .rsa = key { true } else { false } }

    /// Reads a TPMT_PUBLIC of the kinds the agent makes (RSA or ECC, SHA-256 name, no policy,
    /// a NULL scheme); anything else is refused, so a key file cannot point the agent at an
    /// object of another kind.
    init(reading reader: inout TPMReader) throws(TPMError) {
        let type = try reader.u16("TPMT_PUBLIC.type")
        guard type == TPMAlgorithm.rsa || type == TPMAlgorithm.ecc else { throw TPMError(.unsupportedKeyFile("not an RSA or ECC key")) }
        guard try reader.u16("TPMT_PUBLIC.nameAlg") == TPMAlgorithm.sha256 else {
            throw TPMError(.unsupportedKeyFile("name algorithm other than SHA-256"))
        }
        attributes = try reader.u32("TPMT_PUBLIC.objectAttributes")
        guard try reader.sized("TPMT_PUBLIC.authPolicy", maximum: 64).isEmpty else {
            throw TPMError(.unsupportedKeyFile("a key with an authorization policy"))
        }
        switch try reader.u16("TPMT_PUBLIC.symmetric") {
        case TPMAlgorithm.null:
            storageCipher = false
        case TPMAlgorithm.aes:
            guard try reader.u16("TPMT_SYM_DEF_OBJECT.keyBits") == 128, try reader.u16("TPMT_SYM_DEF_OBJECT.mode") == TPMAlgorithm.cfb else {
                throw TPMError(.unsupportedKeyFile("a storage cipher other than AES-128-CFB"))
            }
            storageCipher = true
        default:
            throw TPMError(.unsupportedKeyFile("an unknown storage cipher"))
        }
        guard try reader.u16("TPMT_PUBLIC.scheme") == TPMAlgorithm.null else {
            throw TPMError(.unsupportedKeyFile("a key bound to one scheme"))
        }
        if type == TPMAlgorithm.rsa {
            let bits = try reader.u16("TPMS_RSA_PARMS.keyBits")
            let exponent = try reader.u32("TPMS_RSA_PARMS.exponent")
            key = .rsa(bits: bits, modulus: try reader.sized("TPM2B_PUBLIC_KEY_RSA", maximum: TPMPublicArea.maximumModulus),
                       exponent: exponent)
        } else {
            let curve = try reader.u16("TPMS_ECC_PARMS.curveID")
            guard try reader.u16("TPMS_ECC_PARMS.kdf") == TPMAlgorithm.null else {
                throw TPMError(.unsupportedKeyFile("an ECC key with a KDF"))
            }
            let x = try reader.sized("TPMS_ECC_POINT.x", maximum: TPMPublicArea.maximumCoordinate)
            key = .ecc(curve: curve, x: x, y: try reader.sized("TPMS_ECC_POINT.y", maximum: TPMPublicArea.maximumCoordinate))
        }
    }

    /// Reads a TPM2B_PUBLIC, which must be exactly its size.
    init(sized bytes: [UInt8]) throws(TPMError) {
        var outer = TPMReader(bytes)
        let size = Int(try outer.u16("TPM2B_PUBLIC.size"))
        var inner = try outer.sub(size, "TPM2B_PUBLIC")
        try outer.expectEnd("TPM2B_PUBLIC")
        self = try TPMPublicArea(reading: &inner)
        try inner.expectEnd("TPMT_PUBLIC")
    }

    init(attributes: UInt32, storageCipher: Bool, key: Key) {
        self.attributes = attributes
        self.storageCipher = storageCipher
        self.key = key
    }

    /// The SubjectPublicKeyInfo DER of the public key, as the CSR and certificate carry it.
    func subjectPublicKeyInfo() throws(TPMError) -> [UInt8] {
        switch key {
        case .rsa(_, let modulus, let exponent):
            guard !modulus.isEmpty else { throw TPMError(.unexpectedKey) }
            let e = exponent == 0 ? UInt32(65537) : exponent
            return DER.encode { writer in
                writer.writeSequence { writer in
                    writer.writeSequence { writer in
                        writer.writeObjectIdentifier(OID.rsaEncryption)
                        writer.writeNull()
                    }
                    let rsaPublicKey = DER.encode { writer in
                        writer.writeSequence { writer in
                            writer.writeInteger(unsignedBytes: modulus)
                            writer.writeInteger(unsignedBytes: [UInt8(e >> 24 & 0xff), UInt8(e >> 16 & 0xff), UInt8(e >> 8 & 0xff), UInt8(e & 0xff)])
                        }
                    }
                    writer.writeBitString(rsaPublicKey)
                }
            }
        case .ecc(_, let x, let y):
            guard let type = keyType, case .ec(let named) = type else { throw TPMError(.unexpectedKey) }
            let size = named.coordinateSize
            guard !x.isEmpty, !y.isEmpty, x.count <= size, y.count <= size else { throw TPMError(.unexpectedKey) }
            let point = [0x04] + [UInt8](repeating: 0, count: size - x.count) + x + [UInt8](repeating: 0, count: size - y.count) + y
            return DER.encode { writer in
                writer.writeSequence { writer in
                    writer.writeSequence { writer in
                        writer.writeObjectIdentifier(OID.ecPublicKey)
                        writer.writeObjectIdentifier(named == .p256 ? OID.secp256r1 : OID.secp384r1)
                    }
                    writer.writeBitString(point)
                }
            }
        }
    }
}
