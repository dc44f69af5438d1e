import ASN1
import Encoding

/// A TPM key as a file: the "TSS2 PRIVATE KEY" format of the TPM 2.0 key-file convention
/// (openssl_tpm2_engine, tpm2-openssl, the kernel's trusted keys):
///
///     TPMKey ::= SEQUENCE {
///         type       OBJECT IDENTIFIER,            -- 2.23.133.10.1.3, a loadable key
///         emptyAuth  [0] EXPLICIT BOOLEAN OPTIONAL,
///         parent     INTEGER,                      -- 0x40000001: the owner hierarchy's storage root
///         pubkey     OCTET STRING,                 -- TPM2B_PUBLIC
///         privkey    OCTET STRING }                -- TPM2B_PRIVATE, sealed by the parent
///
/// The private part is encrypted by the TPM's storage root and useless on any other TPM, which is
/// why it can sit in the keystore beside the certificate. `openssl pkey -provider tpm2` reads it.
public struct TPMKeyFile: Equatable {
    static let loadableKey = ObjectIdentifier([2, 23, 133, 10, 1, 3])
    /// A TPM2B_PRIVATE is a few hundred bytes (an integrity digest and the encrypted sensitive area).
    static let maximumPrivate = 1024
    public static let pemLabel = "TSS2 PRIVATE KEY"

    /// TPM2B_PUBLIC and TPM2B_PRIVATE, sizes included, as TPM2_Load takes them.
    let publicBlob: [UInt8]
    let privateBlob: [UInt8]
    let publicArea: TPMPublicArea

    init(publicBlob: [UInt8], privateBlob: [UInt8]) throws(TPMError) {
        self.publicBlob = publicBlob
        self.privateBlob = privateBlob
        do throws(TPMError) {
            publicArea = try TPMPublicArea(sized: publicBlob)
            var reader = TPMReader(privateBlob)
            let size = Int(try reader.u16("TPM2B_PRIVATE.size"))
            guard size > 0 else { throw TPMError(.unsupportedKeyFile("an empty private part")) }
            guard size <= TPMKeyFile.maximumPrivate else { throw TPMError(.unsupportedKeyFile("a private part over 1024 bytes")) }
            _ = try reader.raw(size, "TPM2B_PRIVATE")
            try reader.expectEnd("TPM2B_PRIVATE")
        } catch {
            // The blobs come from a file here, not from a TPM: say so.
            if case .malformed(let field) = error.kind { throw TPMError(.malformedKeyFile(field)) }
            throw error
        }
    }

    public var der: [UInt8] {
        DER.encode { writer in
            writer.writeSequence { writer in
                writer.writeObjectIdentifier(TPMKeyFile.loadableKey)
                writer.writeExplicit(0) { $0.writeBoolean(true) }
                writer.writeInteger(unsignedBytes: [0x40, 0x00, 0x00, 0x01])
                writer.writeOctetString(publicBlob)
                writer.writeOctetString(privateBlob)
            }
        }
    }

    public var pem: [UInt8] { Array(PEM.encode(der, label: TPMKeyFile.pemLabel).utf8) }

    /// Reads the PEM (or DER) form. Only what the agent makes is accepted: a loadable key with no
    /// authorization value under the owner hierarchy's storage root.
    public init(parsing bytes: [UInt8]) throws(TPMError) {
        var der = bytes
        if PEM.looksLikePEM(bytes) {
            guard let blocks = PEM.decodeAll(bytes, label: TPMKeyFile.pemLabel), blocks.count == 1 else {
                throw TPMError(.unsupportedKeyFile("not one TSS2 PRIVATE KEY block"))
            }
            der = blocks[0]
        }
        let fields: (type: ObjectIdentifier, emptyAuth: Bool, parent: [UInt8], publicBlob: [UInt8], privateBlob: [UInt8])
        do throws(DERError) {
            var outer = DERReader(der)
            var sequence = try outer.enterSequence()
            try outer.finish()
            let type = try sequence.readObjectIdentifier()
            var emptyAuth = false
            if let explicit = try sequence.readIfPresent(DERTag.contextConstructed(0)) {
                var inner = try explicit.reader()
                emptyAuth = try inner.readBoolean()
                try inner.finish()
            }
            let parent = Array(try sequence.readIntegerBytes())
            let publicBlob = Array(try sequence.readOctetString())
            let privateBlob = Array(try sequence.readOctetString())
            try sequence.finish()
            fields = (type, emptyAuth, parent, publicBlob, privateBlob)
        } catch {
            throw TPMError(.unsupportedKeyFile("not DER"))
        }
        guard fields.type == TPMKeyFile.loadableKey else { throw TPMError(.unsupportedKeyFile("not a loadable TPM key")) }
        guard fields.emptyAuth else { throw TPMError(.unsupportedKeyFile("a key with an authorization value")) }
        guard fields.parent == [0x40, 0x00, 0x00, 0x01] else {
            throw TPMError(.unsupportedKeyFile("a parent other than the owner hierarchy's storage root"))
        }
        try self.init(publicBlob: fields.publicBlob, privateBlob: fields.privateBlob)
    }
}
