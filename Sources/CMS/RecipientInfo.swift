import ASN1
import Crypto
import X509

/// RecipientInfo ::= CHOICE { ktri, kari [1], kekri [2], pwri [3], ori [4] } (RFC 5652 6.2).
enum RecipientInfo: DERParseable {
    case keyTransport(KeyTransRecipient)
    case keyAgreement(KeyAgreeRecipient)
    case password(PasswordRecipient)
    case other

    static var derName: String { "RecipientInfo" }

    init(derElement element: DERElement) throws(DERError) {
        switch element.tag {
        case DERTag.sequence: self = .keyTransport(try KeyTransRecipient.decode(element))
        case DERTag.contextConstructed(1): self = .keyAgreement(try KeyAgreeRecipient.decode(element))
        case DERTag.contextConstructed(3): self = .password(try PasswordRecipient.decode(element))
        default: self = .other
        }
    }
}

/// RecipientIdentifier ::= CHOICE { issuerAndSerialNumber, subjectKeyIdentifier [0] }, also the
/// shape of KeyAgreeRecipientIdentifier.
enum RecipientIdentifier: Equatable {
    case issuerAndSerialNumber(IssuerAndSerialNumber)
    case subjectKeyIdentifier([UInt8])

    static func read(_ fields: inout DERReader) throws(DERError) -> RecipientIdentifier {
        if let keyIdentifier = try fields.readIfPresent(DERTag.contextPrimitive(0)) {
            return .subjectKeyIdentifier(Array(keyIdentifier.contents))
        }
        return .issuerAndSerialNumber(try fields.decode(IssuerAndSerialNumber.self))
    }

    func names(_ certificate: Certificate) -> Bool {
        switch self {
        case .issuerAndSerialNumber(let name): name.identifies(certificate)
        case .subjectKeyIdentifier(let identifier): certificate.subjectKeyIdentifier == identifier
        }
    }
}

// MARK: - Key transport

/// KeyTransRecipientInfo: the content key encrypted to an RSA certificate (PKCS#1 v1.5).
struct KeyTransRecipient: DERParseable {
    let identifier: RecipientIdentifier
    let algorithm: AlgorithmIdentifier
    let encryptedKey: [UInt8]

    static var derName: String { "KeyTransRecipientInfo" }

    init(derElement element: DERElement) throws(DERError) {
        (identifier, algorithm, encryptedKey) = try element.sequence { (fields) throws(DERError) in
            _ = try fields.readSmallInteger()
            let identifier = try RecipientIdentifier.read(&fields)
            return (identifier, try fields.decode(AlgorithmIdentifier.self), Array(try fields.readOctetString()))
        }
    }

    func names(_ certificate: Certificate) -> Bool { identifier.names(certificate) }

    static func build(_ contentKey: SecretBytes, to certificate: Certificate, random: RandomGenerator) throws(CryptoError) -> [UInt8] {
        let encryptedKey = try PublicKey(publicKeyInfo: certificate.publicKeyInfo).encrypt(contentKey, random: random)
        return DER.encode { writer in
            writer.writeSequence { writer in
                writer.writeInteger(0)
                writer.write(IssuerAndSerialNumber(certificate))
                writer.write(AlgorithmIdentifier.withNull(OID.rsaEncryption))
                writer.writeOctetString(encryptedKey)
            }
        }
    }
}

// MARK: - Key agreement

/// KeyAgreeRecipientInfo with ephemeral-static ECDH (RFC 5753 section 3.1): the sender's
/// one-time public key, the KDF and key-wrap algorithms, and the wrapped content key for each
/// recipient. The content key is unwrapped with a key derived from the ECDH shared secret.
struct KeyAgreeRecipient: DERParseable {
    /// The sender's ephemeral public key: the BIT STRING of its OriginatorPublicKey, a point.
    let originatorPoint: [UInt8]?
    let userKeyingMaterial: [UInt8]?
    let algorithm: AlgorithmIdentifier
    let encryptedKeys: [(RecipientIdentifier, [UInt8])]

    static var derName: String { "KeyAgreeRecipientInfo" }

    init(derElement element: DERElement) throws(DERError) {
        (originatorPoint, userKeyingMaterial, algorithm, encryptedKeys) = try element.withContents(of: DERTag.contextConstructed(1)) {
            (fields) throws(DERError) in
            _ = try fields.readSmallInteger()
            let originator = try fields.read(DERTag.contextConstructed(0)).withContents(of: DERTag.contextConstructed(0)) {
                (choice) throws(DERError) -> [UInt8]? in
                // Only originatorKey [1] is ephemeral-static; a static originator is not supported.
                guard choice.nextTag == DERTag.contextConstructed(1) else {
                    _ = try choice.read()
                    return nil
                }
                return try choice.read().withContents(of: DERTag.contextConstructed(1)) { (key) throws(DERError) in
                    _ = try key.decode(AlgorithmIdentifier.self)
                    return Array(try key.readBitStringBytes())
                }
            }
            var ukm: [UInt8]? = nil
            if let explicit = try fields.readIfPresent(DERTag.contextConstructed(1)) {
                ukm = try explicit.withContents(of: DERTag.contextConstructed(1)) { (inner) throws(DERError) in
                    Array(try inner.readOctetString())
                }
            }
            let algorithm = try fields.decode(AlgorithmIdentifier.self)
            var keys: [(RecipientIdentifier, [UInt8])] = []
            var list = try fields.enterSequence()
            while !list.isAtEnd {
                keys.append(try list.read().sequence { (entry) throws(DERError) in
                    (try RecipientIdentifier.read(&entry), Array(try entry.readOctetString()))
                })
                guard keys.count <= 16 else { throw DERError(.invalid(.tooMany), at: element.offset) }
            }
            return (originator, ukm, algorithm, keys)
        }
    }

    /// The KDF's digest for each dhSinglePass scheme. The cofactor variants compute the same
    /// secret here: P-256 and P-384 have cofactor 1. SHA-1 is OpenSSL's default KDF digest,
    /// taken in replies only, with a warning, like SHA-1 signatures.
    static func digest(of scheme: ObjectIdentifier) -> DigestAlgorithm? {
        switch scheme {
        case OID.dhSinglePassStdDHSHA1KDF, OID.dhSinglePassCofactorDHSHA1KDF: .sha1
        case OID.dhSinglePassStdDHSHA256KDF, OID.dhSinglePassCofactorDHSHA256KDF: .sha256
        case OID.dhSinglePassStdDHSHA384KDF, OID.dhSinglePassCofactorDHSHA384KDF: .sha384
        case OID.dhSinglePassStdDHSHA512KDF, OID.dhSinglePassCofactorDHSHA512KDF: .sha512
        default: nil
        }
    }

    /// The key-encryption key's size for each AES key wrap.
    static func kekSize(of wrap: ObjectIdentifier) -> Int? {
        switch wrap {
        case OID.aes128Wrap: 16
        case OID.aes192Wrap: 24
        case OID.aes256Wrap: 32
        default: nil
        }
    }

    /// The KDF digest this recipient uses, when known (for a warning about SHA-1).
    var kdfDigest: DigestAlgorithm? { KeyAgreeRecipient.digest(of: algorithm.algorithm) }

    /// The content key, or nil when this recipient names someone else.
    func unwrap(for keys: EnvelopedData.Keys) throws(CMSError) -> SecretBytes? {
        guard let encrypted = encryptedKeys.first(where: { $0.0.names(keys.certificate) })?.1
                ?? (encryptedKeys.count == 1 ? encryptedKeys[0].1 : nil) else { return nil }
        guard let digest = KeyAgreeRecipient.digest(of: algorithm.algorithm) else { throw .unsupportedAlgorithm(algorithm.algorithm) }
        guard let wrapBytes = algorithm.parameters, let wrap = try? AlgorithmIdentifier(derEncoded: wrapBytes) else {
            throw .malformed(DERError(.invalid(.missingParameters), at: 0).inside(KeyAgreeRecipient.derName))
        }
        guard let kekSize = KeyAgreeRecipient.kekSize(of: wrap.algorithm) else { throw .unsupportedAlgorithm(wrap.algorithm) }
        // A static originator (a certificate) is 1-pass static-static ECDH, which no SCEP server uses.
        guard let point = originatorPoint else { throw .unsupportedAlgorithm(algorithm.algorithm) }
        do throws(CryptoError) {
            let shared = try keys.key.agree(peerPoint: point)
            defer { shared.wipe() }
            let info = KeyAgreeRecipient.sharedInfo(wrap: wrapBytes, ukm: userKeyingMaterial, kekSize: kekSize)
            let kek = try KeyDerivation.x963(secret: shared, sharedInfo: info, keyLength: kekSize, digest: digest)
            defer { kek.wipe() }
            return try AESKeyWrap.unwrap(encrypted, with: kek)
        } catch {
            throw .crypto(error)
        }
    }

    /// ECC-CMS-SharedInfo ::= SEQUENCE { keyInfo AlgorithmIdentifier, entityUInfo [0] EXPLICIT
    /// OCTET STRING OPTIONAL, suppPubInfo [2] EXPLICIT OCTET STRING } (RFC 5753 section 7.2):
    /// keyInfo is the wrap algorithm exactly as the message encodes it.
    static func sharedInfo(wrap: [UInt8], ukm: [UInt8]?, kekSize: Int) -> [UInt8] {
        let bits = UInt32(kekSize * 8)
        return DER.encode { writer in
            writer.writeSequence { writer in
                writer.writeEncoded(wrap)
                if let ukm { writer.writeExplicit(0) { $0.writeOctetString(ukm) } }
                writer.writeExplicit(2) { $0.writeOctetString([UInt8(bits >> 24), UInt8((bits >> 16) & 0xff),
                                                              UInt8((bits >> 8) & 0xff), UInt8(bits & 0xff)]) }
            }
        }
    }

    /// A recipient for `certificate`'s EC key: a fresh ephemeral key on its curve, then the
    /// content key wrapped under the derived key (P-256: SHA-256 KDF and AES-128 wrap; P-384:
    /// SHA-384 and AES-256, as RFC 5753 pairs them).
    static func build(_ contentKey: SecretBytes, to certificate: Certificate, curve: EllipticCurve,
                      random: RandomGenerator) throws(CryptoError) -> [UInt8] {
        let ephemeral = try SoftwareKey.generate(.ec(curve), random: random)
        guard let recipientPoint = try? SubjectPublicKeyInfo(derEncoded: certificate.publicKeyInfo).key,
              let ephemeralPoint = try? SubjectPublicKeyInfo(derEncoded: ephemeral.publicKeyInfo).key else {
            throw CryptoError(.parsePublicKey)
        }
        let (scheme, wrapAlgorithm, digest, kekSize) = curve == .p256
            ? (OID.dhSinglePassStdDHSHA256KDF, OID.aes128Wrap, DigestAlgorithm.sha256, 16)
            : (OID.dhSinglePassStdDHSHA384KDF, OID.aes256Wrap, DigestAlgorithm.sha384, 32)
        let wrap = AlgorithmIdentifier(wrapAlgorithm).derEncoded
        let shared = try ephemeral.agree(peerPoint: recipientPoint)
        defer { shared.wipe() }
        let kek = try KeyDerivation.x963(secret: shared, sharedInfo: sharedInfo(wrap: wrap, ukm: nil, kekSize: kekSize),
                                         keyLength: kekSize, digest: digest)
        defer { kek.wipe() }
        let encryptedKey = try AESKeyWrap.wrap(contentKey, with: kek)
        return DER.encode { writer in
            writer.writeConstructed(DERTag.contextConstructed(1)) { writer in
                writer.writeInteger(3)
                writer.writeExplicit(0) { writer in
                    writer.writeConstructed(DERTag.contextConstructed(1)) { writer in
                        writer.write(AlgorithmIdentifier(OID.ecPublicKey))
                        writer.writeBitString(ephemeralPoint)
                    }
                }
                writer.write(AlgorithmIdentifier(scheme, parameters: wrap))
                writer.writeSequence { writer in
                    writer.writeSequence { writer in
                        writer.write(IssuerAndSerialNumber(certificate))
                        writer.writeOctetString(encryptedKey)
                    }
                }
            }
        }
    }
}

// MARK: - Password

/// PasswordRecipientInfo (RFC 3211): the content key wrapped under a key derived from a
/// password with PBKDF2, by the KEK algorithm's double CBC encryption.
struct PasswordRecipient: DERParseable {
    let derivation: AlgorithmIdentifier?
    let keyEncryption: AlgorithmIdentifier
    let encryptedKey: [UInt8]

    static var derName: String { "PasswordRecipientInfo" }

    init(derElement element: DERElement) throws(DERError) {
        (derivation, keyEncryption, encryptedKey) = try element.withContents(of: DERTag.contextConstructed(3)) {
            (fields) throws(DERError) in
            _ = try fields.readSmallInteger()
            var derivation: AlgorithmIdentifier? = nil
            if let implicit = try fields.readIfPresent(DERTag.contextConstructed(0)) {
                // [0] IMPLICIT AlgorithmIdentifier: the SEQUENCE's contents under another tag.
                derivation = try implicit.withContents(of: DERTag.contextConstructed(0)) { (inner) throws(DERError) in
                    AlgorithmIdentifier(try inner.readObjectIdentifier(), parameters: inner.isAtEnd ? nil : Array(try inner.read().encoded))
                }
            }
            return (derivation, try fields.decode(AlgorithmIdentifier.self), Array(try fields.readOctetString()))
        }
    }

    /// PBKDF2-params ::= SEQUENCE { salt OCTET STRING, iterationCount INTEGER, keyLength INTEGER
    /// OPTIONAL, prf AlgorithmIdentifier DEFAULT hmacWithSHA1 }
    static func pbkdf2Parameters(_ bytes: [UInt8]) throws(DERError) -> (salt: [UInt8], iterations: Int, keyLength: Int?, prf: DigestAlgorithm?) {
        var reader = DERReader(bytes)
        let parameters = try reader.read().sequence { (fields) throws(DERError) in
            let salt = Array(try fields.readOctetString())
            let iterations = try fields.readSmallInteger()
            let keyLength = fields.nextTag == DERTag.integer ? try fields.readSmallInteger() : nil
            var prf: DigestAlgorithm? = .sha1
            if !fields.isAtEnd {
                switch try fields.decode(AlgorithmIdentifier.self).algorithm {
                case OID.hmacWithSHA1: prf = .sha1
                case OID.hmacWithSHA256: prf = .sha256
                case OID.hmacWithSHA384: prf = .sha384
                case OID.hmacWithSHA512: prf = .sha512
                default: prf = nil
                }
            }
            return (salt, iterations, keyLength, prf)
        }
        try reader.finish()
        return parameters
    }

    func unwrap(with password: PasswordSecret) throws(CMSError) -> SecretBytes {
        let malformed = CMSError.malformed(DERError(.invalid(.missingParameters), at: 0).inside(PasswordRecipient.derName))
        guard let derivation else { throw malformed }
        guard derivation.algorithm == OID.pbkdf2 else { throw .unsupportedAlgorithm(derivation.algorithm) }
        guard keyEncryption.algorithm == OID.pwriKEK else { throw .unsupportedAlgorithm(keyEncryption.algorithm) }
        let parameters: (salt: [UInt8], iterations: Int, keyLength: Int?, prf: DigestAlgorithm?)
        let kekAlgorithm: AlgorithmIdentifier
        let iv: [UInt8]
        do throws(DERError) {
            guard let parameterBytes = derivation.parameters, let kekAlgorithmBytes = keyEncryption.parameters else {
                throw DERError(.invalid(.missingParameters), at: 0)
            }
            parameters = try PasswordRecipient.pbkdf2Parameters(parameterBytes)
            kekAlgorithm = try AlgorithmIdentifier(derEncoded: kekAlgorithmBytes)
            guard let ivBytes = kekAlgorithm.parameters else { throw DERError(.invalid(.missingParameters), at: 0) }
            var reader = DERReader(ivBytes)
            iv = Array(try reader.readOctetString())
            try reader.finish()
        } catch {
            throw .malformed(error.inside(PasswordRecipient.derName))
        }
        guard let prf = parameters.prf else { throw .unsupportedAlgorithm(OID.pbkdf2) }
        guard let cipher = AlgorithmNames.cipher(kekAlgorithm.algorithm), cipher != .desCBC else {
            throw .unsupportedAlgorithm(kekAlgorithm.algorithm)
        }
        do throws(CryptoError) {
            if let length = parameters.keyLength, length != cipher.keySize { throw CryptoError(.keyDerivation) }
            let kek = try password.deriveKey(salt: parameters.salt, iterations: parameters.iterations, keyLength: cipher.keySize,
                                             digest: prf)
            defer { kek.wipe() }
            return try PasswordRecipient.unwrapKEK(encryptedKey, kek: kek, cipher: cipher, iv: iv)
        } catch {
            throw .crypto(error)
        }
    }

    /// RFC 3211 section 2.3.2: undo the second CBC pass (its IV is the decrypted last block, got
    /// by decrypting the last block with the one before it as IV), then the first, then check
    /// the length byte and the three check bytes.
    static func unwrapKEK(_ wrapped: [UInt8], kek: SecretBytes, cipher: ContentCipher, iv: [UInt8]) throws(CryptoError) -> SecretBytes {
        let block = cipher.blockSize
        guard wrapped.count >= 2 * block, wrapped.count % block == 0, wrapped.count <= 8 * block else {
            throw CryptoError(.keyUnwrap)
        }
        let count = wrapped.count
        let lastPlain = try cipher.crypt(unpadded: SecretBytes(Array(wrapped[(count - block)...])), encrypt: false, key: kek,
                                         iv: Array(wrapped[(count - 2 * block)..<(count - block)]))
        defer { lastPlain.wipe() }
        let head = try cipher.crypt(unpadded: SecretBytes(Array(wrapped[..<(count - block)])), encrypt: false, key: kek,
                                    iv: lastPlain.withBytes { Array($0) })
        defer { head.wipe() }
        let outer = SecretBytes(count: count)
        defer { outer.wipe() }
        outer.withMutableBytes { out in
            head.withBytes { for index in 0..<$0.count { out[index] = $0[index] } }
            lastPlain.withBytes { for index in 0..<$0.count { out[count - block + index] = $0[index] } }
        }
        let inner = try cipher.crypt(unpadded: outer, encrypt: false, key: kek, iv: iv)
        defer { inner.wipe() }
        return try inner.withBytes { (bytes) throws(CryptoError) in
            let length = Int(bytes[0])
            guard length >= 1, length <= count - 4,
                  (bytes[1] ^ bytes[4]) & (bytes[2] ^ bytes[5]) & (bytes[3] ^ bytes[6]) == 0xff else {
                throw CryptoError(.keyUnwrap)
            }
            return SecretBytes(Array(bytes[4..<(4 + length)]))
        }
    }

    /// A recipient for `password`: PBKDF2 with HMAC-SHA256, 16 random bytes of salt and 2048
    /// iterations (what OpenSSL writes), and AES-128-CBC as the KEK algorithm.
    static func build(_ contentKey: SecretBytes, password: PasswordSecret, random: RandomGenerator) throws(CryptoError) -> [UInt8] {
        let cipher = ContentCipher.aes128CBC
        let salt = try random.bytes(16)
        let iterations = 2048
        let iv = try random.bytes(cipher.blockSize)
        let kek = try password.deriveKey(salt: salt, iterations: iterations, keyLength: cipher.keySize, digest: .sha256)
        defer { kek.wipe() }
        // Length byte, three check bytes (the key's first three, inverted), the key, and random
        // padding up to at least two whole blocks.
        let keyLength = contentKey.count
        let padded = max(2 * cipher.blockSize, (4 + keyLength + cipher.blockSize - 1) / cipher.blockSize * cipher.blockSize)
        let padding = try random.bytes(padded - 4 - keyLength)
        let block = SecretBytes(count: padded)
        defer { block.wipe() }
        block.withMutableBytes { out in
            contentKey.withBytes { key in
                out[0] = UInt8(keyLength)
                for index in 0..<3 { out[1 + index] = ~key[index] }
                for index in 0..<keyLength { out[4 + index] = key[index] }
            }
            for index in 0..<padding.count { out[4 + keyLength + index] = padding[index] }
        }
        let first = try cipher.crypt(unpadded: block, encrypt: true, key: kek, iv: iv)
        let second = try cipher.crypt(unpadded: first, encrypt: true, key: kek,
                                      iv: first.withBytes { Array($0[($0.count - cipher.blockSize)...]) })
        let encryptedKey = second.withBytes { Array($0) }
        return DER.encode { writer in
            writer.writeConstructed(DERTag.contextConstructed(3)) { writer in
                writer.writeInteger(0)
                writer.writeConstructed(DERTag.contextConstructed(0)) { writer in
                    writer.write(OID.pbkdf2)
                    writer.writeSequence { writer in
                        writer.writeOctetString(salt)
                        writer.writeInteger(iterations)
                        writer.writeInteger(cipher.keySize)
                        writer.write(AlgorithmIdentifier.withNull(OID.hmacWithSHA256))
                    }
                }
                writer.write(AlgorithmIdentifier(OID.pwriKEK, parameters: AlgorithmIdentifier(
                    AlgorithmNames.identifier(of: cipher), parameters: DER.encode { $0.writeOctetString(iv) }).derEncoded))
                writer.writeOctetString(encryptedKey)
            }
        }
    }
}
