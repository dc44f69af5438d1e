import ASN1
import Crypto
import X509

/// CMS EnvelopedData (RFC 5652 section 6) with one RSA key-transport recipient (PKCS#1 v1.5) and
/// a CBC content cipher: the envelope of every SCEP request and successful reply.
public enum EnvelopedData {
    /// Encrypts `content` to `recipient` under a fresh content key, and returns the ContentInfo.
    public static func build(content: [UInt8], recipient: Certificate, cipher: ContentCipher,
                             random: RandomGenerator) throws(CMSError) -> [UInt8] {
        do throws(CryptoError) {
            let contentKey = SecretBytes(try random.bytes(cipher.keySize))
            defer { contentKey.wipe() }
            let iv = try random.bytes(cipher.blockSize)
            let encrypted = try cipher.encrypt(content, key: contentKey, iv: iv)
            let encryptedKey = try RSAPublicKey(publicKeyInfo: recipient.publicKeyInfo).encrypt(contentKey, random: random)
            let recipientInfo = DER.sequence([
                DER.integer(0),
                IssuerAndSerialNumber(recipient).der,
                AlgorithmIdentifier.withNull(OID.rsaEncryption).der,
                DER.octetString(encryptedKey),
            ])
            let envelope = DER.sequence([
                DER.integer(0),
                DER.setOf([recipientInfo]),
                DER.sequence([
                    DER.objectIdentifier(OID.data),
                    AlgorithmIdentifier(AlgorithmNames.identifier(of: cipher), parameters: DER.octetString(iv)).der,
                    DER.tlv(DERTag.contextPrimitive(0), encrypted),
                ]),
            ])
            return ContentInfo.wrap(OID.envelopedData, envelope)
        } catch {
            throw .crypto(error)
        }
    }

    /// What opening an envelope yields: the content, and the cipher that protected it (so the
    /// caller can warn about DES).
    public struct Opened {
        public let content: [UInt8]
        public let cipher: ContentCipher
    }

    /// Finds the recipient entry for `certificate` and decrypts with `key`. When the server names
    /// the recipient differently (some name the self-signed signer by another serial), a single
    /// key-transport recipient is tried anyway: the RSA decryption itself proves it was ours.
    public static func open(_ bytes: [UInt8], key: RSAPrivateKey, certificate: Certificate,
                            random: RandomGenerator, context: String) throws(CMSError) -> Opened {
        let info = try ContentInfo(der: bytes[...], context: context)
        let element = try info.expect(OID.envelopedData)
        var encryptedKeys: [(matches: Bool, key: [UInt8])] = []
        let algorithm: AlgorithmIdentifier
        let ciphertext: [UInt8]
        do throws(DERError) {
            var fields = try element.reader(context + ".envelopedData")
            _ = try fields.readSmallInteger()
            _ = try fields.readIfPresent(DERTag.contextConstructed(0)) // originatorInfo
            var recipients = try fields.enter(DERTag.set, context + ".recipientInfos")
            while !recipients.isAtEnd {
                let recipient = try recipients.read()
                // Only KeyTransRecipientInfo (a SEQUENCE); key agreement and password recipients are skipped.
                guard recipient.tag == DERTag.sequence else { continue }
                var transport = try recipient.reader(context + ".keyTransRecipientInfo")
                let version = try transport.readSmallInteger()
                var matches = false
                if version == 0 {
                    matches = try IssuerAndSerialNumber(from: &transport, context + ".rid").identifies(certificate)
                } else {
                    _ = try transport.read(DERTag.contextPrimitive(0))
                }
                let keyAlgorithm = try AlgorithmIdentifier(from: &transport, context + ".keyEncryptionAlgorithm")
                let encryptedKey = Array(try transport.readOctetString())
                if keyAlgorithm.algorithm == OID.rsaEncryption { encryptedKeys.append((matches, encryptedKey)) }
            }
            var encrypted = try fields.enterSequence(context + ".encryptedContentInfo")
            _ = try encrypted.readObjectIdentifier()
            algorithm = try AlgorithmIdentifier(from: &encrypted, context + ".contentEncryptionAlgorithm")
            ciphertext = try octetStringAllowingChunks(try encrypted.read(), primitiveTag: DERTag.contextPrimitive(0),
                                                       context + ".encryptedContent")
        } catch {
            throw .malformed(error)
        }

        guard let cipher = AlgorithmNames.cipher(algorithm.algorithm) else {
            throw .unsupportedAlgorithm(algorithm.algorithm.description)
        }
        let iv: [UInt8]
        do throws(DERError) {
            guard let parameters = algorithm.parameters else { throw DERError(.badValue("no IV"), context) }
            var reader = try DERReader(parameters, context: context + ".iv")
            iv = Array(try reader.readOctetString())
        } catch {
            throw .malformed(error)
        }
        let candidates = encryptedKeys.filter { $0.matches }.map { $0.key }
        let chosen = candidates.first ?? (encryptedKeys.count == 1 ? encryptedKeys[0].key : nil)
        guard let encryptedKey = chosen else { throw .notARecipient }
        do throws(CryptoError) {
            let contentKey = try key.decrypt(encryptedKey, random: random)
            defer { contentKey.wipe() }
            guard contentKey.count == cipher.keySize else { throw CryptoError("the content key has the wrong size") }
            return Opened(content: try cipher.decrypt(ciphertext, key: contentKey, iv: iv), cipher: cipher)
        } catch {
            throw .crypto(error)
        }
    }
}
