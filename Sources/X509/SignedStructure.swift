import ASN1
import Crypto

/// Signs a to-be-signed structure the X.509 way: SEQUENCE { tbs, signatureAlgorithm, BIT STRING }.
/// Certificates and certification requests share this shape; the algorithm follows the key.
func signStructure(_ tbs: [UInt8], key: PrivateKey, digest: DigestAlgorithm) throws(CryptoError) -> [UInt8] {
    let algorithm = SignatureAlgorithm(key: key.type, digest: digest)
    let signature = try key.sign(digest: digest.hash(tbs), algorithm: digest)
    // Sized up front: when `tbs` holds a secret (a request's challenge), no reallocation leaves
    // a copy of it behind.
    var writer = DERWriter(reservingCapacity: tbs.count + signature.count + 64)
    writer.writeSequence { writer in
        writer.writeEncoded(tbs)
        writer.write(algorithm.identifier)
        writer.writeBitString(signature)
    }
    return writer.bytes
}
