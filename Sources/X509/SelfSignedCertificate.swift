import ASN1
import Crypto

/// The transient self-signed certificate that signs a PKCSReq (RFC 8894 section 2.3): same key
/// and same subject as the request, as OpenXPKI and others insist.
public enum SelfSignedCertificate {
    /// Valid from an hour ago (clock skew) for `lifetime` seconds; a random positive serial.
    public static func make(subject: DistinguishedName, key: RSAPrivateKey, now: Int64, lifetime: Int64 = 30 * 86_400,
                            random: RandomGenerator) throws(CryptoError) -> [UInt8] {
        var serial = try random.bytes(16)
        serial[0] &= 0x7f
        serial[0] |= 0x40
        let tbs = DER.sequence([
            DER.explicit(0, DER.integer(2)),
            DER.tlv(DERTag.integer, serial),
            AlgorithmIdentifier.withNull(OID.sha256WithRSAEncryption).der,
            subject.der,
            DER.sequence([DERTime.encode(now - 3600), DERTime.encode(now + lifetime)]),
            subject.der,
            try key.publicKeyInfoDER(),
            DER.explicit(3, DER.sequence([
                CertificateExtension.keyUsage([.digitalSignature, .keyEncipherment]).der,
            ])),
        ])
        return try signStructure(tbs, key: key, digest: .sha256, random: random)
    }
}
