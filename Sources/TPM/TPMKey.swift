import ASN1
import Crypto

/// A device key that lives inside a TPM: every signature, decryption and key agreement is done
/// by the TPM, and the only thing this process holds is the key file, whose private part is
/// encrypted to the TPM's storage root.
public final class TPMKey: PrivateKey {
    let tpm: TPM
    let file: TPMKeyFile

    init(tpm: TPM, file: TPMKeyFile) throws(TPMError) {
        guard let type = file.publicArea.keyType else { throw TPMError(.unsupportedKeyFile("an unsupported key type")) }
        self.tpm = tpm
        self.file = file
        super.init(type: type, publicKeyInfo: try file.publicArea.subjectPublicKeyInfo())
    }

    public override var heldForm: (format: String, blob: [UInt8])? { ("tpm2", file.pem) }

    public override var storage: KeyStorage { .tpm }

    public override func sign(digest: [UInt8], algorithm: DigestAlgorithm) throws(CryptoError) -> [UInt8] {
        guard digest.count == algorithm.outputSize else { throw CryptoError(.digestSize) }
        let hash: UInt16
        switch algorithm {
        case .sha256: hash = TPMAlgorithm.sha256
        case .sha384: hash = TPMAlgorithm.sha384
        default: throw CryptoError(.keyHolder("the TPM key signs with SHA-256 or SHA-384 only, not \(algorithm.name)"))
        }
        let isRSA = type.isRSA
        let signature = try lift { () throws(TPMError) in
            try tpm.withLoadedKey(file) { (commands, handle) throws(TPMError) in
                try commands.sign(handle, digest: digest, hash: hash, isRSA: isRSA)
            }
        }
        let encoded: [UInt8]
        switch (signature, file.publicArea.key) {
        case (.rsa(let bytes), .rsa(let bits, _, _)):
            let size = Int(bits) / 8
            guard bytes.count <= size, !bytes.isEmpty else { throw CryptoError(.keyHolder("TPM: a signature of the wrong size")) }
            encoded = [UInt8](repeating: 0, count: size - bytes.count) + bytes
        case (.ecdsa(let r, let s), .ecc):
            guard !r.isEmpty, !s.isEmpty else { throw CryptoError(.keyHolder("TPM: an empty ECDSA signature")) }
            encoded = DER.encode { writer in
                writer.writeSequence { writer in
                    writer.writeInteger(unsignedBytes: r)
                    writer.writeInteger(unsignedBytes: s)
                }
            }
        default:
            throw CryptoError(.keyHolder("TPM: a signature of another kind than the key"))
        }
        // Checked before it leaves: a faulty RSA-CRT signature over a known message (the CSR,
        // the SignerInfo) would give away the key's factors to whoever receives it.
        guard try PublicKey(publicKeyInfo: publicKeyInfo).verify(signature: encoded, digest: digest, algorithm: algorithm) else {
            throw CryptoError(.keyHolder("TPM: the TPM's signature does not verify; not sent"))
        }
        return encoded
    }

    public override func decrypt(_ encryptedKey: [UInt8]) throws(CryptoError) -> SecretBytes {
        guard case .rsa(let bits, _, _) = file.publicArea.key else { throw CryptoError(.keyType(expected: "RSA")) }
        guard encryptedKey.count == Int(bits) / 8 else { throw CryptoError(.decrypt) }
        return try lift { () throws(TPMError) in
            try tpm.withLoadedKey(file) { (commands, handle) throws(TPMError) in try commands.rsaDecrypt(handle, encryptedKey) }
        }
    }

    public override func agree(peerPoint: [UInt8]) throws(CryptoError) -> SecretBytes {
        guard case .ec(let curve) = type else { throw CryptoError(.keyType(expected: "EC")) }
        let size = curve.coordinateSize
        guard peerPoint.count == 1 + 2 * size, peerPoint[0] == 0x04 else { throw CryptoError(.keyAgreement) }
        let x = Array(peerPoint[1...size])
        let y = Array(peerPoint[(1 + size)...])
        let z = try lift { () throws(TPMError) in
            try tpm.withLoadedKey(file) { (commands, handle) throws(TPMError) in try commands.ecdhZGen(handle, x: x, y: y) }
        }
        guard z.count <= size, z.count > 0 else {
            z.wipe()
            throw CryptoError(.keyAgreement)
        }
        guard z.count < size else { return z }
        // Z is the x-coordinate as a fixed-size octet string (SEC 1 section 3.3.1).
        let padded = SecretBytes(count: size)
        padded.withMutableBytes { target in
            z.withBytes { source in
                for index in 0..<source.count { target[size - source.count + index] = source[index] }
            }
        }
        z.wipe()
        return padded
    }

    private func lift<Value>(_ body: () throws(TPMError) -> Value) throws(CryptoError) -> Value {
        do { return try body() } catch { throw CryptoError(.keyHolder(error.description)) }
    }
}
