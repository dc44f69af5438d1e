import ASN1
import Crypto
import X509

/// CMS EnvelopedData (RFC 5652 section 6): the envelope of every SCEP request and successful
/// reply, with a CBC content cipher and one recipient.
///
/// Which recipient depends on the key that is to open it (RFC 8894 section 3.1): RSA key transport
/// (PKCS#1 v1.5) to an RSA certificate; ephemeral-static ECDH key agreement (RFC 5753) to an EC
/// certificate, which cannot receive key transport; or a password (RFC 3211), as servers answer EC
/// clients with the challenge password.
public enum EnvelopedData {
    /// Who an envelope is built for.
    public enum Recipient {
        case certificate(Certificate)
        case password(SecretBytes)
    }

    /// Encrypts `content` to `recipient` under a fresh content key, and returns the ContentInfo.
    public static func build(content: SecretBytes, to recipient: Recipient, cipher: ContentCipher,
                             random: RandomGenerator) throws(CMSError) -> [UInt8] {
        do throws(CryptoError) {
            let contentKey = SecretBytes(try random.bytes(cipher.keySize))
            defer { contentKey.wipe() }
            let iv = try random.bytes(cipher.blockSize)
            let encrypted = try cipher.encrypt(content, key: contentKey, iv: iv)
            let recipientInfo: [UInt8]
            var version = 0
            switch recipient {
            case .certificate(let certificate):
                guard let type = certificate.keyType else { throw CryptoError(.parsePublicKey) }
                if case .ec(let curve) = type {
                    recipientInfo = try KeyAgreeRecipient.build(contentKey, to: certificate, curve: curve, random: random)
                    version = 2
                } else {
                    recipientInfo = try KeyTransRecipient.build(contentKey, to: certificate, random: random)
                }
            case .password(let password):
                recipientInfo = try PasswordRecipient.build(contentKey, password: LocalPassword(password), random: random)
                version = 3
            }
            return DER.encode { writer in
                ContentInfo.write(OID.envelopedData, into: &writer) { writer in
                    writer.writeSequence { writer in
                        writer.writeInteger(version)
                        writer.writeSetOf([recipientInfo])
                        writer.writeSequence { writer in
                            writer.write(OID.data)
                            writer.write(AlgorithmIdentifier(AlgorithmNames.identifier(of: cipher),
                                                             parameters: DER.encode { $0.writeOctetString(iv) }))
                            writer.writePrimitive(DERTag.contextPrimitive(0), encrypted)
                        }
                    }
                }
            }
        } catch {
            throw .crypto(error)
        }
    }

    /// What may open an envelope: the device's key and certificate, and the challenge password
    /// when one is configured.
    public struct Keys {
        public let key: PrivateKey
        public let certificate: Certificate
        public let password: PasswordSecret?

        public init(key: PrivateKey, certificate: Certificate, password: PasswordSecret? = nil) {
            self.key = key
            self.certificate = certificate
            self.password = password
        }
    }

    /// What opening an envelope yields: the content, the cipher that protected it (so the caller
    /// can warn about DES), and how its key reached us.
    public struct Opened {
        public let content: [UInt8]
        public let cipher: ContentCipher
        public let recipient: RecipientKind
        /// The digest of a key-agreement KDF, when that is how the key came (SHA-1 is warned about).
        public let keyDerivationDigest: DigestAlgorithm?

        public init(content: [UInt8], cipher: ContentCipher, recipient: RecipientKind, keyDerivationDigest: DigestAlgorithm?) {
            self.content = content
            self.cipher = cipher
            self.recipient = recipient
            self.keyDerivationDigest = keyDerivationDigest
        }
    }

    /// Opens an envelope with whichever of its recipients `keys` can serve: key transport for an
    /// RSA key, key agreement for an EC key, then a password. Anything else is refused, naming
    /// what the envelope offered.
    public static func open(_ bytes: [UInt8], with keys: Keys) throws(CMSError) -> Opened {
        let element = try ContentInfo(message: bytes).expect(OID.envelopedData)
        let parsed: Parsed
        do { parsed = try Parsed.decode(element) } catch { throw .malformed(error) }
        guard let cipher = AlgorithmNames.cipher(parsed.contentAlgorithm.algorithm) else {
            throw .unsupportedAlgorithm(parsed.contentAlgorithm.algorithm)
        }
        let iv: [UInt8]
        do throws(DERError) {
            guard let parameters = parsed.contentAlgorithm.parameters else {
                throw DERError(.invalid(.missingParameters), at: element.offset).inside("EnvelopedData")
            }
            var reader = DERReader(parameters)
            iv = Array(try reader.readOctetString())
            try reader.finish()
        } catch {
            throw .malformed(error)
        }

        let (contentKey, kind, kdfDigest) = try unlock(parsed.recipients, keys: keys)
        defer { contentKey.wipe() }
        do throws(CryptoError) {
            guard contentKey.count == cipher.keySize else { throw CryptoError(.contentKeySize) }
            return Opened(content: try cipher.decrypt(parsed.encryptedContent, key: contentKey, iv: iv), cipher: cipher,
                          recipient: kind, keyDerivationDigest: kdfDigest)
        } catch {
            throw .crypto(error)
        }
    }

    /// The content key, from the first recipient `keys` can serve. When the server names our
    /// certificate differently (some name the self-signed signer by another serial), a single
    /// recipient of the kind our key takes is tried anyway: decryption itself proves it was ours.
    static func unlock(_ recipients: [RecipientInfo], keys: Keys) throws(CMSError) -> (SecretBytes, RecipientKind, DigestAlgorithm?) {
        var offered: [RecipientKind] = []
        var transport: [KeyTransRecipient] = []
        var agreement: [KeyAgreeRecipient] = []
        var password: PasswordRecipient? = nil
        for recipient in recipients {
            switch recipient {
            case .keyTransport(let info):
                if info.algorithm.algorithm == OID.rsaEncryption { transport.append(info) }
                offered.append(info.names(keys.certificate) ? .keyTransport : .keyTransportToOther)
            case .keyAgreement(let info):
                agreement.append(info)
                offered.append(.keyAgreement)
            case .password(let info):
                if password == nil { password = info }
                offered.append(.password)
            case .other:
                offered.append(.other)
            }
        }
        if keys.key.type.isRSA {
            if let chosen = transport.first(where: { $0.names(keys.certificate) }) ?? (transport.count == 1 ? transport[0] : nil) {
                do { return (try keys.key.decrypt(chosen.encryptedKey), .keyTransport, nil) } catch { throw .crypto(error) }
            }
        } else {
            for info in agreement {
                if let key = try info.unwrap(for: keys) { return (key, .keyAgreement, info.kdfDigest) }
            }
        }
        if let password {
            guard let secret = keys.password else { throw .noPassword }
            return (try password.unwrap(with: secret), .password, nil)
        }
        throw .notARecipient(offered: offered)
    }

    /// An EnvelopedData's fields.
    struct Parsed: DERParseable {
        let recipients: [RecipientInfo]
        let contentAlgorithm: AlgorithmIdentifier
        let encryptedContent: [UInt8]

        static var derName: String { "EnvelopedData" }

        init(derElement element: DERElement) throws(DERError) {
            (recipients, contentAlgorithm, encryptedContent) = try element.sequence { (fields) throws(DERError) in
                _ = try fields.readSmallInteger()
                _ = try fields.readIfPresent(DERTag.contextConstructed(0)) // originatorInfo
                var set = try fields.enter(DERTag.set)
                let recipients = try set.decodeAll(RecipientInfo.self)
                guard recipients.count <= 16 else { throw DERError(.invalid(.tooMany), at: element.offset) }
                let (algorithm, content) = try fields.read().sequence { (encrypted) throws(DERError) in
                    _ = try encrypted.readObjectIdentifier()
                    let algorithm = try encrypted.decode(AlgorithmIdentifier.self)
                    let content = try octetStringAllowingChunks(try encrypted.read(), primitiveTag: DERTag.contextPrimitive(0))
                    return (algorithm, content)
                }
                _ = try fields.readIfPresent(DERTag.contextConstructed(1)) // unprotectedAttrs
                return (recipients, algorithm, content)
            }
        }
    }
}
