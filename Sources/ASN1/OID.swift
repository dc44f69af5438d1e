/// Every OBJECT IDENTIFIER the agent speaks, by name.
public enum OID {
    // Algorithms (RFC 8017, RFC 5754, NIST).
    public static let rsaEncryption = ObjectIdentifier([1, 2, 840, 113549, 1, 1, 1])
    public static let sha1WithRSAEncryption = ObjectIdentifier([1, 2, 840, 113549, 1, 1, 5])
    public static let sha256WithRSAEncryption = ObjectIdentifier([1, 2, 840, 113549, 1, 1, 11])
    public static let sha384WithRSAEncryption = ObjectIdentifier([1, 2, 840, 113549, 1, 1, 12])
    public static let sha512WithRSAEncryption = ObjectIdentifier([1, 2, 840, 113549, 1, 1, 13])
    public static let sha1 = ObjectIdentifier([1, 3, 14, 3, 2, 26])
    public static let sha256 = ObjectIdentifier([2, 16, 840, 1, 101, 3, 4, 2, 1])
    public static let sha384 = ObjectIdentifier([2, 16, 840, 1, 101, 3, 4, 2, 2])
    public static let sha512 = ObjectIdentifier([2, 16, 840, 1, 101, 3, 4, 2, 3])
    public static let aes128CBC = ObjectIdentifier([2, 16, 840, 1, 101, 3, 4, 1, 2])
    public static let aes192CBC = ObjectIdentifier([2, 16, 840, 1, 101, 3, 4, 1, 22])
    public static let aes256CBC = ObjectIdentifier([2, 16, 840, 1, 101, 3, 4, 1, 42])
    public static let desEDE3CBC = ObjectIdentifier([1, 2, 840, 113549, 3, 7])
    public static let desCBC = ObjectIdentifier([1, 3, 14, 3, 2, 7])

    // Elliptic curves and ECDSA (RFC 5480, RFC 5758).
    public static let ecPublicKey = ObjectIdentifier([1, 2, 840, 10045, 2, 1])
    public static let secp256r1 = ObjectIdentifier([1, 2, 840, 10045, 3, 1, 7])
    public static let secp384r1 = ObjectIdentifier([1, 3, 132, 0, 34])
    public static let ecdsaWithSHA1 = ObjectIdentifier([1, 2, 840, 10045, 4, 1])
    public static let ecdsaWithSHA256 = ObjectIdentifier([1, 2, 840, 10045, 4, 3, 2])
    public static let ecdsaWithSHA384 = ObjectIdentifier([1, 2, 840, 10045, 4, 3, 3])
    public static let ecdsaWithSHA512 = ObjectIdentifier([1, 2, 840, 10045, 4, 3, 4])

    // CMS key agreement (RFC 5753) and password recipients (RFC 3211, RFC 8018).
    /// RFC 3278's original scheme, SHA-1 in the KDF: OpenSSL's default.
    public static let dhSinglePassStdDHSHA1KDF = ObjectIdentifier([1, 3, 133, 16, 840, 63, 0, 2])
    public static let dhSinglePassCofactorDHSHA1KDF = ObjectIdentifier([1, 3, 133, 16, 840, 63, 0, 3])
    public static let dhSinglePassStdDHSHA256KDF = ObjectIdentifier([1, 3, 132, 1, 11, 1])
    public static let dhSinglePassStdDHSHA384KDF = ObjectIdentifier([1, 3, 132, 1, 11, 2])
    public static let dhSinglePassStdDHSHA512KDF = ObjectIdentifier([1, 3, 132, 1, 11, 3])
    public static let dhSinglePassCofactorDHSHA256KDF = ObjectIdentifier([1, 3, 132, 1, 14, 1])
    public static let dhSinglePassCofactorDHSHA384KDF = ObjectIdentifier([1, 3, 132, 1, 14, 2])
    public static let dhSinglePassCofactorDHSHA512KDF = ObjectIdentifier([1, 3, 132, 1, 14, 3])
    public static let aes128Wrap = ObjectIdentifier([2, 16, 840, 1, 101, 3, 4, 1, 5])
    public static let aes192Wrap = ObjectIdentifier([2, 16, 840, 1, 101, 3, 4, 1, 25])
    public static let aes256Wrap = ObjectIdentifier([2, 16, 840, 1, 101, 3, 4, 1, 45])
    public static let pbkdf2 = ObjectIdentifier([1, 2, 840, 113549, 1, 5, 12])
    public static let hmacWithSHA1 = ObjectIdentifier([1, 2, 840, 113549, 2, 7])
    public static let hmacWithSHA256 = ObjectIdentifier([1, 2, 840, 113549, 2, 9])
    public static let hmacWithSHA384 = ObjectIdentifier([1, 2, 840, 113549, 2, 10])
    public static let hmacWithSHA512 = ObjectIdentifier([1, 2, 840, 113549, 2, 11])
    public static let pwriKEK = ObjectIdentifier([1, 2, 840, 113549, 1, 9, 16, 3, 9])

    // CMS content types (RFC 5652).
    public static let data = ObjectIdentifier([1, 2, 840, 113549, 1, 7, 1])
    public static let signedData = ObjectIdentifier([1, 2, 840, 113549, 1, 7, 2])
    public static let envelopedData = ObjectIdentifier([1, 2, 840, 113549, 1, 7, 3])

    // PKCS #9 attributes.
    public static let emailAddress = ObjectIdentifier([1, 2, 840, 113549, 1, 9, 1])
    public static let contentType = ObjectIdentifier([1, 2, 840, 113549, 1, 9, 3])
    public static let messageDigest = ObjectIdentifier([1, 2, 840, 113549, 1, 9, 4])
    public static let signingTime = ObjectIdentifier([1, 2, 840, 113549, 1, 9, 5])
    public static let challengePassword = ObjectIdentifier([1, 2, 840, 113549, 1, 9, 7])
    public static let extensionRequest = ObjectIdentifier([1, 2, 840, 113549, 1, 9, 14])

    // SCEP attributes (RFC 8894 section 3.2.1, arc 2.16.840.1.113733.1.9).
    public static let scepMessageType = ObjectIdentifier([2, 16, 840, 1, 113733, 1, 9, 2])
    public static let scepPKIStatus = ObjectIdentifier([2, 16, 840, 1, 113733, 1, 9, 3])
    public static let scepFailInfo = ObjectIdentifier([2, 16, 840, 1, 113733, 1, 9, 4])
    public static let scepSenderNonce = ObjectIdentifier([2, 16, 840, 1, 113733, 1, 9, 5])
    public static let scepRecipientNonce = ObjectIdentifier([2, 16, 840, 1, 113733, 1, 9, 6])
    public static let scepTransactionID = ObjectIdentifier([2, 16, 840, 1, 113733, 1, 9, 7])
    public static let scepFailInfoText = ObjectIdentifier([1, 3, 6, 1, 5, 5, 7, 24, 1])

    // X.520 attribute types for names.
    public static let commonName = ObjectIdentifier([2, 5, 4, 3])
    public static let surname = ObjectIdentifier([2, 5, 4, 4])
    public static let serialNumber = ObjectIdentifier([2, 5, 4, 5])
    public static let countryName = ObjectIdentifier([2, 5, 4, 6])
    public static let localityName = ObjectIdentifier([2, 5, 4, 7])
    public static let stateOrProvinceName = ObjectIdentifier([2, 5, 4, 8])
    public static let streetAddress = ObjectIdentifier([2, 5, 4, 9])
    public static let organizationName = ObjectIdentifier([2, 5, 4, 10])
    public static let organizationalUnitName = ObjectIdentifier([2, 5, 4, 11])
    public static let title = ObjectIdentifier([2, 5, 4, 12])
    public static let givenName = ObjectIdentifier([2, 5, 4, 42])
    public static let domainComponent = ObjectIdentifier([0, 9, 2342, 19200300, 100, 1, 25])
    public static let userID = ObjectIdentifier([0, 9, 2342, 19200300, 100, 1, 1])

    // Certificate extensions (RFC 5280).
    public static let subjectKeyIdentifier = ObjectIdentifier([2, 5, 29, 14])
    public static let keyUsage = ObjectIdentifier([2, 5, 29, 15])
    public static let subjectAltName = ObjectIdentifier([2, 5, 29, 17])
    public static let basicConstraints = ObjectIdentifier([2, 5, 29, 19])
    public static let extendedKeyUsage = ObjectIdentifier([2, 5, 29, 37])
    public static let authorityKeyIdentifier = ObjectIdentifier([2, 5, 29, 35])
    public static let serverAuth = ObjectIdentifier([1, 3, 6, 1, 5, 5, 7, 3, 1])
    public static let clientAuth = ObjectIdentifier([1, 3, 6, 1, 5, 5, 7, 3, 2])
    /// id-kp-cmcRA (RFC 6402): a registration authority for certificate management.
    public static let cmcRA = ObjectIdentifier([1, 3, 6, 1, 5, 5, 7, 3, 28])
    /// Microsoft's Certificate Request Agent purpose, which NDES puts on its RA certificates.
    public static let microsoftCertificateRequestAgent = ObjectIdentifier([1, 3, 6, 1, 4, 1, 311, 20, 2, 1])

    private static let names: [(ObjectIdentifier, String)] = [
        (rsaEncryption, "rsaEncryption"), (sha1WithRSAEncryption, "sha1WithRSAEncryption"),
        (sha256WithRSAEncryption, "sha256WithRSAEncryption"), (sha384WithRSAEncryption, "sha384WithRSAEncryption"),
        (sha512WithRSAEncryption, "sha512WithRSAEncryption"), (sha1, "sha1"), (sha256, "sha256"),
        (sha384, "sha384"), (sha512, "sha512"), (aes128CBC, "aes128-CBC"), (aes192CBC, "aes192-CBC"),
        (aes256CBC, "aes256-CBC"), (desEDE3CBC, "des-ede3-cbc"), (desCBC, "desCBC"), (data, "data"),
        (signedData, "signedData"), (envelopedData, "envelopedData"), (contentType, "contentType"),
        (messageDigest, "messageDigest"), (signingTime, "signingTime"),
        (challengePassword, "challengePassword"), (extensionRequest, "extensionRequest"),
        (scepMessageType, "messageType"), (scepPKIStatus, "pkiStatus"), (scepFailInfo, "failInfo"),
        (scepSenderNonce, "senderNonce"), (scepRecipientNonce, "recipientNonce"),
        (scepTransactionID, "transactionID"), (scepFailInfoText, "failInfoText"),
        (keyUsage, "keyUsage"), (subjectAltName, "subjectAltName"), (extendedKeyUsage, "extendedKeyUsage"),
        (basicConstraints, "basicConstraints"), (subjectKeyIdentifier, "subjectKeyIdentifier"),
        (authorityKeyIdentifier, "authorityKeyIdentifier"), (ecPublicKey, "id-ecPublicKey"), (secp256r1, "P-256"),
        (secp384r1, "P-384"), (ecdsaWithSHA256, "ecdsa-with-SHA256"), (ecdsaWithSHA384, "ecdsa-with-SHA384"),
        (ecdsaWithSHA512, "ecdsa-with-SHA512"), (dhSinglePassStdDHSHA1KDF, "dhSinglePass-stdDH-sha1kdf-scheme"),
        (dhSinglePassStdDHSHA256KDF, "dhSinglePass-stdDH-sha256kdf-scheme"),
        (dhSinglePassStdDHSHA384KDF, "dhSinglePass-stdDH-sha384kdf-scheme"),
        (dhSinglePassStdDHSHA512KDF, "dhSinglePass-stdDH-sha512kdf-scheme"), (aes128Wrap, "aes128-wrap"),
        (aes192Wrap, "aes192-wrap"), (aes256Wrap, "aes256-wrap"), (pbkdf2, "PBKDF2"), (pwriKEK, "id-alg-PWRI-KEK"),
        (cmcRA, "id-kp-cmcRA"), (microsoftCertificateRequestAgent, "Certificate Request Agent"),
    ]

    public static func name(of identifier: ObjectIdentifier) -> String? {
        for (candidate, name) in names where candidate == identifier { return name }
        return nil
    }
}
