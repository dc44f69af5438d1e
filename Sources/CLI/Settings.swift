import Encoding
import Agent
import ASN1
import HTTP
import Platform
import X509

/// Everything the agent is configured with, validated and typed.
///
/// Values come from the config file first, then the command line, which overrides it. Every field
/// here has a long option of the same name (see `OptionTable`).
public struct Settings: Equatable {
    public var url: ServerURL? = nil
    public var caFingerprint: [UInt8]? = nil
    public var challengeFile: String? = nil
    public var subject: DistinguishedName? = nil
    /// Where {serial} comes from when the board keeps it somewhere unusual (a board profile's
    /// serial-source); otherwise the device tree, then DMI.
    public var serialFile: String? = nil
    /// --subject as given, with where it was given; placeholders are filled by `expandSubject()`
    /// once every option is known, so `serial-file` may come after `subject`.
    var subjectTemplate: String? = nil
    var subjectSource: String = ""
    /// The CSR's extensionRequest, from --san, --key-usage and --extended-key-usage.
    public var subjectAltNames: [SubjectAltName] = []
    public var keyUsage: KeyUsage? = nil
    public var extendedKeyUsage: [ObjectIdentifier] = []
    public var keyBits: Int = 2048
    public var keystore: String = "/var/lib/scep-agent"
    public var certOut: String? = nil
    public var keyOut: String? = nil
    public var chainOut: String? = nil
    public var bundleOut: String? = nil
    public var publishMode: UInt32 = 0o644
    public var keyMode: UInt32 = 0o600
    public var publishOwner: UInt32? = nil
    public var publishGroup: UInt32? = nil
    public var deviceSecret: String? = nil
    public var renewBefore: RenewalThreshold = .percentOfLifetime(33)
    public var pollInterval: Int64 = 300
    public var pollTimeout: Int64 = 3600
    public var hook: String? = nil
    public var consumeChallenge: Bool = false
    public var retryMinimum: Int64 = 60
    public var retryMaximum: Int64 = 6 * 3600
    public var reuseKey: Bool = false
    public var tlsCA: String? = nil
    /// The longest one HTTP exchange may take, connecting included (a drip-feeding server or a
    /// black-holed route cannot hold the agent longer).
    public var timeout: Int64 = 60
    public var logLevel: LogLevel = .info
    public var syslog: Bool = false
    public var allowWeakCrypto: Bool = false
    /// `getca --out FILE`.
    public var out: String? = nil
    /// `status --json`.
    public var json: Bool = false

    public init() {}

    public static let supportedKeyBits = [2048, 3072, 4096]

    /// Sets one option from its text. `source` names where the text came from
    /// ("--url", or "/etc/scep-agent.conf:3: url") so the error points at it.
    mutating func apply(_ name: String, _ value: String, source: String) throws(UsageError) {
        func invalid(_ why: String) -> UsageError { UsageError("\(source): \(why)") }
        switch name {
        case "url":
            do { url = try ServerURL(value) } catch { throw invalid("the URL '\(value)' \(error)") }
        case "ca-fingerprint":
            guard let digest = FingerprintText.parse(value) else {
                throw invalid("expected a SHA-256 fingerprint: 64 hex digits, colons and a 'sha256:' prefix allowed")
            }
            caFingerprint = digest
        case "challenge-file": challengeFile = try path(value, source)
        case "subject":
            subjectTemplate = value
            subjectSource = source
        case "serial-file": serialFile = try path(value, source)
        case "san":
            guard let names = RequestExtensions.subjectAltNames(value) else {
                throw invalid("expected names such as DNS:dev.example,IP:192.0.2.1,email:ops@example.com, not '\(value)'")
            }
            subjectAltNames = names
        case "key-usage":
            guard let usage = RequestExtensions.keyUsage(value) else {
                throw invalid("expected key usages such as digitalSignature,keyEncipherment, not '\(value)'")
            }
            keyUsage = usage
        case "extended-key-usage":
            guard let purposes = RequestExtensions.extendedKeyUsage(value) else {
                throw invalid("expected clientAuth and/or serverAuth, not '\(value)'")
            }
            extendedKeyUsage = purposes
        case "key-bits":
            guard let bits = Int(value), Settings.supportedKeyBits.contains(bits) else {
                throw invalid("RSA key size must be 2048, 3072 or 4096, not '\(value)'")
            }
            keyBits = bits
        case "keystore": keystore = try path(value, source)
        case "cert-out": certOut = try path(value, source)
        case "key-out": keyOut = try path(value, source)
        case "chain-out": chainOut = try path(value, source)
        case "bundle-out": bundleOut = try path(value, source)
        case "publish-mode": publishMode = try mode(value, source)
        case "key-mode": keyMode = try mode(value, source)
        case "publish-owner":
            guard let id = userID(named: value) else { throw invalid("no such user '\(value)'") }
            publishOwner = id
        case "publish-group":
            guard let id = groupID(named: value) else { throw invalid("no such group '\(value)'") }
            publishGroup = id
        case "device-secret": deviceSecret = try path(value, source)
        case "renew-before":
            guard let threshold = RenewalThreshold(value) else {
                throw invalid("expected a duration such as 14d or a share of the lifetime such as 33%, not '\(value)'")
            }
            renewBefore = threshold
        case "poll-interval": pollInterval = try duration(value, source, minimum: 1)
        case "poll-timeout": pollTimeout = try duration(value, source, minimum: 0)
        case "hook":
            guard !value.isEmpty else { throw invalid("the hook command is empty") }
            hook = value
        case "reuse-key": reuseKey = try boolean(value, source)
        case "consume-challenge": consumeChallenge = try boolean(value, source)
        case "retry-min": retryMinimum = try duration(value, source, minimum: 1)
        case "retry-max": retryMaximum = try duration(value, source, minimum: 1)
        case "tls-ca": tlsCA = try path(value, source)
        case "timeout": timeout = try duration(value, source, minimum: 1)
        case "log-level":
            guard let level = LogLevel(name: value) else {
                throw invalid("log level must be error, warn, info or debug, not '\(value)'")
            }
            logLevel = level
        case "syslog": syslog = try boolean(value, source)
        case "allow-weak-crypto": allowWeakCrypto = try boolean(value, source)
        case "out": out = try path(value, source)
        case "json": json = try boolean(value, source)
        default:
            throw UsageError("\(source): unknown option")
        }
    }

    /// Fills the subject's placeholders from this device and parses it.
    mutating func expandSubject() throws(UsageError) {
        guard let template = subjectTemplate else { return }
        let serialFile = self.serialFile
        var serialFileUnreadable = false
        let expanded: String
        do {
            expanded = try SubjectTemplate.expand(template) { name in
                guard name == "serial", let serialFile else { return DeviceFacts.value(of: name) }
                let serial = DeviceFacts.firstLine(serialFile)
                serialFileUnreadable = serial == nil
                return serial
            }
        } catch {
            var message = "\(subjectSource): \(error.message)"
            if serialFileUnreadable, let serialFile { message += " (serial-file \(serialFile) is missing or empty)" }
            throw UsageError(message)
        }
        do { subject = try DistinguishedName(rfc4514: expanded) } catch {
            throw UsageError("\(subjectSource): invalid subject: \(error)")
        }
    }

    private func path(_ value: String, _ source: String) throws(UsageError) -> String {
        guard !value.isEmpty else { throw UsageError("\(source): the path is empty") }
        guard !value.utf8.contains(0) else { throw UsageError("\(source): the path contains a NUL byte") }
        return value
    }

    /// An octal file mode such as 0640; never world-writable, never set-id.
    private func mode(_ value: String, _ source: String) throws(UsageError) -> UInt32 {
        let digits = Array(value.utf8)
        guard !digits.isEmpty, digits.count <= 4, digits.allSatisfy({ $0 >= 0x30 && $0 <= 0x37 }) else {
            throw UsageError("\(source): expected an octal mode such as 0640, not '\(value)'")
        }
        var result: UInt32 = 0
        for digit in digits { result = result * 8 + UInt32(digit - 0x30) }
        guard result & 0o7002 == 0 else { throw UsageError("\(source): \(value) would be world-writable or set-id") }
        return result
    }

    private func duration(_ value: String, _ source: String, minimum: Int64) throws(UsageError) -> Int64 {
        guard let seconds = DurationText.seconds(value), seconds >= minimum else {
            throw UsageError("\(source): expected a duration such as 30s, 10m, 12h or 14d, not '\(value)'")
        }
        return seconds
    }

    private func boolean(_ value: String, _ source: String) throws(UsageError) -> Bool {
        switch value.asciiLowercased {
        case "yes", "true", "on", "1": return true
        case "no", "false", "off", "0": return false
        default: throw UsageError("\(source): expected yes or no, not '\(value)'")
        }
    }

    public var renewalThreshold: RenewalSchedule.Threshold {
        switch renewBefore {
        case .before(let seconds): .before(seconds: seconds)
        case .percentOfLifetime(let percent): .percentOfLifetime(percent)
        }
    }

    /// The extensionRequest for the CSR, empty when none of its options is set.
    public var requestExtensions: [CertificateExtension] {
        var extensions: [CertificateExtension] = []
        if !subjectAltNames.isEmpty { extensions.append(.subjectAltName(subjectAltNames)) }
        if let keyUsage { extensions.append(.keyUsage(keyUsage)) }
        if !extendedKeyUsage.isEmpty { extensions.append(.extendedKeyUsage(extendedKeyUsage)) }
        return extensions
    }

    /// Whether a setting named in `Command.requiredSettings` has a value.
    func has(_ name: String) -> Bool {
        switch name {
        case "url": url != nil
        case "ca-fingerprint": caFingerprint != nil
        case "subject": subject != nil
        default: true
        }
    }
}
