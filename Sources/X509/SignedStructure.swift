import ASN1
import Crypto

/// Signs a to-be-signed structure the X.509 way: SEQUENCE { tbs, signatureAlgorithm, BIT STRING }.
/// Certificates and certification requests share this shape.
func signStructure(_ tbs: [UInt8], key: RSAPrivateKey, digest: DigestAlgorithm,
                   random: RandomGenerator) throws(CryptoError) -> [UInt8] {
    let signature = try key.sign(digest: digest.hash(tbs), algorithm: digest, random: random)
    return DER.sequence([tbs, AlgorithmIdentifier.withNull(AlgorithmNames.signatureIdentifier(of: digest)).der,
                         DER.bitString(signature)])
}
