import ASN1
import Crypto

/// The transient self-signed certificate that signs a PKCSReq (RFC 8894 section 2.3): same key
/// and same subject as the request, as OpenXPKI and others insist.
public enum SelfSignedCertificate {
    /// Valid from an hour ago (clock skew) for `lifetime` seconds; a random positive serial.
    /// keyUsage follows the key: an RSA key may also receive the reply by key transport, an EC
    /// key by key agreement.
    public static func make(subject: DistinguishedName, key: PrivateKey, now: Int64, lifetime: Int64 = 30 * 86_400,
                            random: RandomGenerator) throws(CryptoError) -> [UInt8] {
        var serial = try random.bytes(16)
        serial[0] &= 0x7f
        serial[0] |= 0x40
        let digest = key.type.signatureDigest
        let usage: KeyUsage = key.type.isRSA ? [.digitalSignature, .keyEncipherment] : [.digitalSignature, .keyAgreement]
        let tbs = DER.encode { writer in
            writer.writeSequence { writer in
                writer.writeExplicit(0) { $0.writeInteger(2) }
                writer.writeInteger(encoded: serial)
                writer.write(SignatureAlgorithm(key: key.type, digest: digest).identifier)
                writer.write(subject)
                writer.write(Validity(notBefore: now - 3600, notAfter: now + lifetime))
                writer.write(subject)
                writer.writeEncoded(key.publicKeyInfo)
                writer.writeExplicit(3) { writer in
                    writer.writeSequence { $0.write(CertificateExtension.keyUsage(usage)) }
                }
            }
        }
        return try signStructure(tbs, key: key, digest: digest)
    }
}
