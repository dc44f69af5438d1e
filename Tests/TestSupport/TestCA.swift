import ASN1
import CMS
import Crypto
import Encoding
import Foundation
import X509

/// A certificate authority for tests: a key and a self-signed CA certificate made by our own
/// code, which openssl checks independently in the X509 and CMS tests. It can also stand below
/// another CA (an intermediate) and issue RA and device certificates with any extensions.
public final class TestCA {
    public let random: RandomGenerator
    public let key: PrivateKey
    public let certificate: Certificate
    private var serial = 100

    public init(subject: String = "CN=Test SCEP CA,O=scep-agent tests",
                keyUsage: KeyUsage = [.keyCertSign, .cRLSign, .digitalSignature, .keyEncipherment],
                lifetime: Int64 = 30 * 86_400, keyType: KeyType = .rsa(bits: 2048), issuer: TestCA? = nil,
                pathLength: Int? = nil) throws {
        random = try RandomGenerator()
        key = try SoftwareKey.generate(keyType, random: random)
        let name = try DistinguishedName(rfc4514: subject)
        let extensions = [CertificateExtension.basicConstraints(BasicConstraints(isCA: true, pathLength: pathLength)),
                          CertificateExtension.keyUsage(keyUsage)]
        if let issuer {
            certificate = try issuer.issue(subject: name, publicKeyInfo: key.publicKeyInfo, lifetime: lifetime, extensions: extensions)
        } else {
            let now = Int64(Date().timeIntervalSince1970)
            certificate = try Certificate(der: try TestCA.sign(TestCA.tbs(serial: 1, issuer: name, subject: name, key: key,
                                                                          publicKeyInfo: key.publicKeyInfo,
                                                                          validity: Validity(notBefore: now - 3600, notAfter: now + lifetime),
                                                                          extensions: extensions), with: key))
        }
    }

    /// A CA from an existing key and certificate (a responder restarted on the same state).
    public init(key: PrivateKey, certificate: Certificate) throws {
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
        let tbs = TestCA.tbs(serial: serial, issuer: certificate.subject, subject: subject, key: key, publicKeyInfo: publicKeyInfo,
                             validity: Validity(notBefore: start, notAfter: start + lifetime), extensions: extensions,
                             issuerDER: certificate.subjectDER)
        return try Certificate(der: try TestCA.sign(tbs, with: key))
    }

    /// An end-entity key and certificate from this CA: an RA, or another device.
    public func issueKey(subject: String, keyType: KeyType = .rsa(bits: 2048), extensions: [CertificateExtension])
        throws -> (key: PrivateKey, certificate: Certificate) {
        let issued = try SoftwareKey.generate(keyType, random: random)
        let certificate = try issue(subject: try DistinguishedName(rfc4514: subject), publicKeyInfo: issued.publicKeyInfo,
                                    extensions: extensions)
        return (issued, certificate)
    }

    /// A CRL with no revoked certificates, valid for a day.
    public func emptyCRL() throws -> [UInt8] {
        let now = Int64(Date().timeIntervalSince1970)
        let algorithm = SignatureAlgorithm(key: key.type, digest: .sha256).identifier
        let tbs = DER.encode { writer in
            writer.writeSequence { writer in
                writer.writeInteger(1)
                writer.write(algorithm)
                writer.writeEncoded(certificate.subjectDER)
                DERTime.write(now - 60, into: &writer)
                DERTime.write(now + 86_400, into: &writer)
            }
        }
        return try TestCA.sign(tbs, with: key)
    }

    static func tbs(serial: Int, issuer: DistinguishedName, subject: DistinguishedName, key: PrivateKey, publicKeyInfo: [UInt8],
                    validity: Validity, extensions: [CertificateExtension], issuerDER: [UInt8]? = nil) -> [UInt8] {
        DER.encode { writer in
            writer.writeSequence { writer in
                writer.writeExplicit(0) { $0.writeInteger(2) }
                writer.writeInteger(serial)
                writer.write(SignatureAlgorithm(key: key.type, digest: .sha256).identifier)
                if let issuerDER { writer.writeEncoded(issuerDER) } else { writer.write(issuer) }
                writer.write(validity)
                writer.write(subject)
                writer.writeEncoded(publicKeyInfo)
                if !extensions.isEmpty {
                    writer.writeExplicit(3) { writer in
                        writer.writeSequence { writer in
                            for item in extensions { writer.write(item) }
                        }
                    }
                }
            }
        }
    }

    public static func sign(_ tbs: [UInt8], with key: PrivateKey) throws -> [UInt8] {
        let signature = try key.sign(digest: DigestAlgorithm.sha256.hash(tbs), algorithm: .sha256)
        return DER.encode { writer in
            writer.writeSequence { writer in
                writer.writeEncoded(tbs)
                writer.write(SignatureAlgorithm(key: key.type, digest: .sha256).identifier)
                writer.writeBitString(signature)
            }
        }
    }
}
