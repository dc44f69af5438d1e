import ASN1
import CMS
import Crypto
import Encoding
import Foundation
import X509

/// A certificate authority for tests: a key and a self-signed CA certificate made by our own
/// code, which openssl checks independently in the X509 and CMS tests.
public final class TestCA {
    public let random: RandomGenerator
    public let key: RSAPrivateKey
    public let certificate: Certificate
    private var serial = 100

    public init(subject: String = "CN=Test SCEP CA,O=scep-agent tests",
                keyUsage: KeyUsage = [.keyCertSign, .cRLSign, .digitalSignature, .keyEncipherment],
                lifetime: Int64 = 30 * 86_400) throws {
        random = try RandomGenerator()
        key = try RSAPrivateKey.generate(bits: 2048, random: random)
        let name = try DistinguishedName(rfc4514: subject)
        let now = Int64(Date().timeIntervalSince1970)
        let tbs = DER.sequence([
            DER.explicit(0, DER.integer(2)),
            DER.integer(1),
            AlgorithmIdentifier.withNull(OID.sha256WithRSAEncryption).der,
            name.der,
            DER.sequence([DERTime.encode(now - 3600), DERTime.encode(now + lifetime)]),
            name.der,
            try key.publicKeyInfoDER(),
            DER.explicit(3, DER.sequence([
                CertificateExtension(OID.basicConstraints, critical: true, value: DER.sequence([DER.boolean(true)])).der,
                CertificateExtension.keyUsage(keyUsage).der,
            ])),
        ])
        certificate = try Certificate(der: try TestCA.sign(tbs, with: key, random: random))
    }

    /// A CA from an existing key and certificate (a responder restarted on the same state).
    public init(key: RSAPrivateKey, certificate: Certificate) throws {
        random = try RandomGenerator()
        self.key = key
        self.certificate = certificate
    }

    public var pin: [UInt8] { certificate.sha256Fingerprint }

    public var pemPath: String {
        let path = NSTemporaryDirectory() + "test-ca-\(Hex.encode(pin.prefix(8))).pem"
        if !FileManager.default.fileExists(atPath: path) {
            try? Data(PEM.encode(certificate.der, label: "CERTIFICATE").utf8).write(to: URL(fileURLWithPath: path))
        }
        return path
    }

    /// Issues a certificate for `publicKeyInfo` and `subject`, valid for `lifetime` seconds.
    public func issue(subject: DistinguishedName, publicKeyInfo: [UInt8], lifetime: Int64 = 86_400,
                      notBefore: Int64? = nil, extensions: [CertificateExtension] = []) throws -> Certificate {
        serial += 1
        // Backdated a little for clock skew, but never by a large share of a short lifetime.
        let start = notBefore ?? Int64(Date().timeIntervalSince1970) - min(60, lifetime / 20)
        let tbs = DER.sequence([
            DER.explicit(0, DER.integer(2)),
            DER.integer(serial),
            AlgorithmIdentifier.withNull(OID.sha256WithRSAEncryption).der,
            certificate.subjectDER,
            DER.sequence([DERTime.encode(start), DERTime.encode(start + lifetime)]),
            subject.der,
            publicKeyInfo,
            extensions.isEmpty ? [] : DER.explicit(3, DER.sequence(extensions.map { $0.der })),
        ])
        return try Certificate(der: try TestCA.sign(tbs, with: key, random: random))
    }

    /// A CRL with no revoked certificates, valid for a day.
    public func emptyCRL() throws -> [UInt8] {
        let now = Int64(Date().timeIntervalSince1970)
        let tbs = DER.sequence([
            DER.integer(1),
            AlgorithmIdentifier.withNull(OID.sha256WithRSAEncryption).der,
            certificate.subjectDER,
            DERTime.encode(now - 60),
            DERTime.encode(now + 86_400),
        ])
        return try TestCA.sign(tbs, with: key, random: random)
    }

    static func sign(_ tbs: [UInt8], with key: RSAPrivateKey, random: RandomGenerator) throws -> [UInt8] {
        let signature = try key.sign(digest: DigestAlgorithm.sha256.hash(tbs), algorithm: .sha256, random: random)
        return DER.sequence([tbs, AlgorithmIdentifier.withNull(OID.sha256WithRSAEncryption).der, DER.bitString(signature)])
    }
}
