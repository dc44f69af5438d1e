import Encoding
import Agent
import ASN1
import Crypto
import HTTP
import Platform
import X509

/// Everything the agent is configured with, validated and typed.
///
/// Values come from the config file first, then the command line, which overrides it. Each field
/// is set by one row of `OptionTable`, which says how its text is parsed.
public struct Settings: Equatable {
    public var url: ServerURL? = nil
    public var caFingerprint: [UInt8]? = nil
    /// `--ra-fingerprint`, repeatable: only these may receive requests or sign replies.
    public var raFingerprints: [[UInt8]] = []
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
    /// Nil when not configured: a first enrollment makes RSA-2048, a renewal keeps the type of
    /// the key in service.
    public var keyType: KeyType? = nil
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
    /// `--key-storage`: where new device keys live; nil keeps the home of the key in service.
    public var keyStorage: KeyStorage? = nil
    /// `/dev/tpmrm0`, another device, or `tcp:HOST:PORT` (swtpm's command port).
    public var tpmDevice: String = "/dev/tpmrm0"
    /// The owner hierarchy's authorization value, when the device maker set one.
    public var tpmOwnerAuthFile: String? = nil
    public var renewBefore: RenewalSchedule.Threshold = .percentOfLifetime(33)
    public var pollInterval: Int64 = 300
    public var pollTimeout: Int64 = 3600
    public var hook: String? = nil
    public var consumeChallenge: Bool = false
    public var retryMinimum: Int64 = 60
    public var retryMaximum: Int64 = 6 * 3600
    public var reuseKey: Bool = false
    public var tlsCA: String? = nil
    /// `--proxy`: overrides http_proxy and https_proxy.
    public var proxy: String? = nil
    public var proxyCredentialsFile: String? = nil
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
    /// `status --check`: the answer as an exit status (`CheckStatus`).
    public var check: Bool = false
    /// `--metrics-file`: the daemon's Prometheus textfile.
    public var metricsFile: String? = nil

    public init() {}

    /// Sets one option from its text. `source` names where the text came from ("--url", or
    /// "/etc/scep-agent.conf:3: url") so an error points at it.
    mutating func apply(_ name: String, _ value: String, source: String) throws(UsageError) {
        guard let option = OptionTable.option(named: name) else { throw UsageError("\(source): unknown option") }
        try option.apply(&self, value, source)
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

    /// Options that make sense alone but not together.
    func checkCombinations() throws(UsageError) {
        if keyStorage == .tpm && (keyOut != nil || bundleOut != nil) {
            throw UsageError("--key-storage tpm keeps the key inside the TPM: there is nothing to publish with --key-out or --bundle-out")
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
}

/// How option values are read: each parser names the option's source in its error.
enum OptionValue {
    static func path(_ value: String, _ source: String) throws(UsageError) -> String {
        guard !value.isEmpty else { throw UsageError("\(source): the path is empty") }
        guard !value.utf8.contains(0) else { throw UsageError("\(source): the path contains a NUL byte") }
        return value
    }

    /// An octal file mode such as 0640, with `forbidden` bits refused (never world-writable or
    /// set-id; a private key's mode grants nothing to others either).
    static func mode(_ value: String, _ source: String, forbidden: UInt32) throws(UsageError) -> UInt32 {
        guard value.utf8.count <= 4, let result = Numbers.parse(value.utf8, radix: 8, limit: 0o7777).map({ UInt32($0) }) else {
            throw UsageError("\(source): expected an octal mode such as 0640, not '\(value)'")
        }
        if result & 0o7000 != 0 || result & 0o002 != 0 { throw UsageError("\(source): \(value) would be world-writable or set-id") }
        guard result & forbidden == 0 else { throw UsageError("\(source): \(value) would let others read the private key") }
        return result
    }

    static func duration(_ value: String, _ source: String, minimum: Int64) throws(UsageError) -> Int64 {
        guard let seconds = DurationText.seconds(value), seconds >= minimum else {
            throw UsageError("\(source): expected a duration such as 30s, 10m, 12h or 14d, not '\(value)'")
        }
        return seconds
    }

    static func boolean(_ value: String, _ source: String) throws(UsageError) -> Bool {
        switch value.asciiLowercased {
        case "yes", "true", "on", "1": return true
        case "no", "false", "off", "0": return false
        default: throw UsageError("\(source): expected yes or no, not '\(value)'")
        }
    }

    static func fingerprint(_ value: String, _ source: String) throws(UsageError) -> [UInt8] {
        guard let digest = FingerprintText.parse(value) else {
            throw UsageError("\(source): expected a SHA-256 fingerprint: 64 hex digits, colons and a 'sha256:' prefix allowed")
        }
        return digest
    }
}
