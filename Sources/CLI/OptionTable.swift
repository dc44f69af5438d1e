import Agent
import Encoding
import Crypto
import HTTP
import Platform

/// One long option, declared once: its name, its argument, the commands it serves, its help and
/// default, and how its text is parsed into `Settings`. The parser, `--help`, the required
/// settings of each command, the man page's option list and docs/configuration.md all come from
/// these rows (the last two generated, and checked for staleness by the tests).
struct OptionSpec: Sendable {
    let name: String
    /// The value's placeholder ("URL"); nil for a flag.
    let argument: String?
    /// Only these commands accept it; empty means every command and the config file.
    let commands: [Command]
    /// Commands that cannot run without it.
    let requiredBy: [Command]
    /// The default, as a person reads it; nil when there is none.
    let defaultText: String?
    let help: String
    /// Sets the option from its text; `source` is where the text came from, for errors.
    let apply: @Sendable (inout Settings, String, String) throws(UsageError) -> Void
    /// Whether it has a value, for the commands that require it.
    let isSet: @Sendable (Settings) -> Bool

    init(_ name: String, _ argument: String?, commands: [Command] = [], requiredBy: [Command] = [], default defaultText: String? = nil,
         help: String, isSet: @escaping @Sendable (Settings) -> Bool = { _ in true },
         apply: @escaping @Sendable (inout Settings, String, String) throws(UsageError) -> Void) {
        self.name = name
        self.argument = argument
        self.commands = commands
        self.requiredBy = requiredBy
        self.defaultText = defaultText
        self.help = help
        self.isSet = isSet
        self.apply = apply
    }

    var isFlag: Bool { argument == nil }
    var isConfigKey: Bool { commands.isEmpty }
}

enum OptionTable {
    static let options: [OptionSpec] = [
        OptionSpec("url", "URL", requiredBy: [.caps, .getca, .enroll, .renew, .run],
                   help: "SCEP endpoint, http:// or https://; no path means /cgi-bin/pkiclient.exe",
                   isSet: { $0.url != nil }) { settings, value, source throws(UsageError) in
            do throws(ServerURL.ParseError) { settings.url = try ServerURL(value) } catch {
                throw UsageError("\(source): the URL '\(value)' \(error)")
            }
        },
        OptionSpec("ca-fingerprint", "FP", requiredBy: [.getca, .enroll, .renew, .run],
                   help: "SHA-256 of the CA certificate's DER, hex (required: the CA is always pinned)",
                   isSet: { $0.caFingerprint != nil }) { settings, value, source throws(UsageError) in
            settings.caFingerprint = try OptionValue.fingerprint(value, source)
        },
        OptionSpec("ra-fingerprint", "FP",
                   help: "SHA-256 of an RA certificate; repeatable: only these may receive requests or sign replies") {
            settings, value, source throws(UsageError) in
            let digest = try OptionValue.fingerprint(value, source)
            if !settings.raFingerprints.contains(digest) { settings.raFingerprints.append(digest) }
        },
        OptionSpec("challenge-file", "FILE", help: "factory challenge password (or the SCEP_CHALLENGE environment variable)") {
            settings, value, source throws(UsageError) in settings.challengeFile = try OptionValue.path(value, source)
        },
        OptionSpec("subject", "DN", requiredBy: [.enroll, .run],
                   help: "subject, e.g. CN={serial},O=Acme; placeholders {serial}, {mac}, {machine-id}, {hostname}",
                   isSet: { $0.subject != nil }) { settings, value, source throws(UsageError) in
            settings.subjectTemplate = value
            settings.subjectSource = source
        },
        OptionSpec("serial-file", "FILE", help: "where {serial} comes from (default: device tree, then DMI product serial)") {
            settings, value, source throws(UsageError) in settings.serialFile = try OptionValue.path(value, source)
        },
        OptionSpec("san", "NAMES", help: "subjectAltName to request, e.g. DNS:dev.example,IP:192.0.2.1") {
            settings, value, source throws(UsageError) in
            guard let names = RequestExtensions.subjectAltNames(value) else {
                throw UsageError("\(source): expected names such as DNS:dev.example,IP:192.0.2.1,email:ops@example.com, not '\(value)'")
            }
            settings.subjectAltNames = names
        },
        OptionSpec("key-usage", "USAGES", help: "keyUsage to request, e.g. digitalSignature,keyEncipherment") {
            settings, value, source throws(UsageError) in
            guard let usage = RequestExtensions.keyUsage(value) else {
                throw UsageError("\(source): expected key usages such as digitalSignature,keyEncipherment, not '\(value)'")
            }
            settings.keyUsage = usage
        },
        OptionSpec("extended-key-usage", "PURPOSES", help: "extendedKeyUsage to request: clientAuth, serverAuth") {
            settings, value, source throws(UsageError) in
            guard let purposes = RequestExtensions.extendedKeyUsage(value) else {
                throw UsageError("\(source): expected clientAuth and/or serverAuth, not '\(value)'")
            }
            settings.extendedKeyUsage = purposes
        },
        OptionSpec("key-type", "TYPE", default: "rsa:2048", help: "device key: rsa:2048, rsa:3072, rsa:4096, ec:p256, ec:p384") {
            settings, value, source throws(UsageError) in
            guard let type = KeyType(name: value.asciiLowercased) else {
                throw UsageError("\(source): key type must be rsa:2048, rsa:3072, rsa:4096, ec:p256 or ec:p384, not '\(value)'")
            }
            settings.keyType = type
        },
        OptionSpec("key-bits", "N", default: "2048", help: "RSA key size: 2048, 3072, 4096 (shorthand for --key-type rsa:N)") {
            settings, value, source throws(UsageError) in
            guard let type = KeyType(name: "rsa:" + value), type.isRSA else {
                throw UsageError("\(source): RSA key size must be 2048, 3072 or 4096, not '\(value)'")
            }
            settings.keyType = type
        },
        OptionSpec("keystore", "DIR", default: "/var/lib/scep-agent", help: "the agent's own state") {
            settings, value, source throws(UsageError) in settings.keystore = try OptionValue.path(value, source)
        },
        OptionSpec("cert-out", "FILE", help: "published copy of the certificate (PEM)") {
            settings, value, source throws(UsageError) in settings.certOut = try OptionValue.path(value, source)
        },
        OptionSpec("key-out", "FILE", help: "published copy of the private key (PEM, --key-mode)") {
            settings, value, source throws(UsageError) in settings.keyOut = try OptionValue.path(value, source)
        },
        OptionSpec("chain-out", "FILE", help: "published copy of the CA chain (PEM)") {
            settings, value, source throws(UsageError) in settings.chainOut = try OptionValue.path(value, source)
        },
        OptionSpec("bundle-out", "FILE", help: "published key, certificate and chain in one file (never a mismatched pair)") {
            settings, value, source throws(UsageError) in settings.bundleOut = try OptionValue.path(value, source)
        },
        OptionSpec("publish-mode", "MODE", default: "0644", help: "mode of --cert-out and --chain-out") {
            settings, value, source throws(UsageError) in settings.publishMode = try OptionValue.mode(value, source, forbidden: 0)
        },
        OptionSpec("key-mode", "MODE", default: "0600", help: "mode of --key-out and --bundle-out; nothing for others") {
            settings, value, source throws(UsageError) in settings.keyMode = try OptionValue.mode(value, source, forbidden: 0o007)
        },
        OptionSpec("publish-owner", "USER", help: "owner of the published copies (name from /etc/passwd, or a number)") {
            settings, value, source throws(UsageError) in
            guard let id = userID(named: value) else { throw UsageError("\(source): no such user '\(value)'") }
            settings.publishOwner = id
        },
        OptionSpec("publish-group", "GROUP", help: "group of the published copies (name from /etc/group, or a number)") {
            settings, value, source throws(UsageError) in
            guard let id = groupID(named: value) else { throw UsageError("\(source): no such group '\(value)'") }
            settings.publishGroup = id
        },
        OptionSpec("device-secret", "FILE", help: "encrypt the keystore's private key at rest with a key derived from this file") {
            settings, value, source throws(UsageError) in settings.deviceSecret = try OptionValue.path(value, source)
        },
        OptionSpec("key-storage", "WHERE", default: "where the key in service lives; file on first boot",
                   help: "where new device keys live: file (the keystore), or tpm (made inside the TPM, never leaving it)") {
            settings, value, source throws(UsageError) in
            guard let storage = KeyStorage(name: value.asciiLowercased) else {
                throw UsageError("\(source): key storage must be file or tpm, not '\(value)'")
            }
            settings.keyStorage = storage
        },
        OptionSpec("tpm-device", "DEVICE", default: "/dev/tpmrm0",
                   help: "the TPM 2.0: a device path, or tcp:HOST:PORT for swtpm's command port (tests, development)") {
            settings, value, source throws(UsageError) in
#if !SCEP_NO_TPM
            guard TPMChannel.Address(value) != nil else {
                throw UsageError("\(source): expected a device path such as /dev/tpmrm0 or tcp:127.0.0.1:2321, not '\(value)'")
            }
#endif
            settings.tpmDevice = value
        },
        OptionSpec("tpm-owner-auth-file", "FILE", help: "the TPM owner hierarchy's authorization value (mode 0600); default: empty") {
            settings, value, source throws(UsageError) in settings.tpmOwnerAuthFile = try OptionValue.path(value, source)
        },
        OptionSpec("renew-before", "D", default: "33%", help: "renew this long before not-after, or at this share of the lifetime") {
            settings, value, source throws(UsageError) in
            guard let threshold = RenewalSchedule.Threshold(text: value) else {
                throw UsageError("\(source): expected a duration such as 14d or a share of the lifetime such as 33%, not '\(value)'")
            }
            settings.renewBefore = threshold
        },
        OptionSpec("poll-interval", "D", default: "5m", help: "PENDING: time between polls") {
            settings, value, source throws(UsageError) in settings.pollInterval = try OptionValue.duration(value, source, minimum: 1)
        },
        OptionSpec("poll-timeout", "D", default: "1h", help: "PENDING: give up polling after this (exit 3)") {
            settings, value, source throws(UsageError) in settings.pollTimeout = try OptionValue.duration(value, source, minimum: 0)
        },
        OptionSpec("hook", "COMMAND", help: "run after each new certificate is committed") {
            settings, value, source throws(UsageError) in
            guard !value.isEmpty else { throw UsageError("\(source): the hook command is empty") }
            settings.hook = value
        },
        OptionSpec("consume-challenge", nil, default: "no", help: "wipe the challenge file after the first successful enrollment") {
            settings, value, source throws(UsageError) in settings.consumeChallenge = try OptionValue.boolean(value, source)
        },
        OptionSpec("retry-min", "D", default: "1m", help: "run: first delay after a failure") {
            settings, value, source throws(UsageError) in settings.retryMinimum = try OptionValue.duration(value, source, minimum: 1)
        },
        OptionSpec("retry-max", "D", default: "6h", help: "run: longest delay between failed attempts") {
            settings, value, source throws(UsageError) in settings.retryMaximum = try OptionValue.duration(value, source, minimum: 1)
        },
        OptionSpec("reuse-key", nil, default: "no", help: "renew with the current key (weaker)") {
            settings, value, source throws(UsageError) in settings.reuseKey = try OptionValue.boolean(value, source)
        },
        OptionSpec("timeout", "D", default: "60s", help: "the longest one HTTP exchange may take, connecting included") {
            settings, value, source throws(UsageError) in settings.timeout = try OptionValue.duration(value, source, minimum: 1)
        },
        OptionSpec("tls-ca", "FILE", help: "CA bundle (PEM) for https:// URLs") {
            settings, value, source throws(UsageError) in settings.tlsCA = try OptionValue.path(value, source)
        },
        OptionSpec("proxy", "URL", help: "HTTP proxy, http://host:port (https:// goes through CONNECT); default: http_proxy, https_proxy") {
            settings, value, source throws(UsageError) in
            do throws(ProxyError) { _ = try ProxyConfiguration(url: value, authorization: nil, bypass: []) } catch {
                throw UsageError("\(source): \(error)")
            }
            settings.proxy = value
        },
        OptionSpec("proxy-credentials-file", "FILE", help: "the proxy's user:password (mode 0600), never on the command line") {
            settings, value, source throws(UsageError) in settings.proxyCredentialsFile = try OptionValue.path(value, source)
        },
        OptionSpec("log-level", "LEVEL", default: "info", help: "error, warn, info, debug") {
            settings, value, source throws(UsageError) in
            guard let level = LogLevel(name: value) else {
                throw UsageError("\(source): log level must be error, warn, info or debug, not '\(value)'")
            }
            settings.logLevel = level
        },
        OptionSpec("syslog", nil, default: "no", help: "log to syslog (daemon facility, /dev/log) instead of standard error") {
            settings, value, source throws(UsageError) in settings.syslog = try OptionValue.boolean(value, source)
        },
        OptionSpec("allow-weak-crypto", nil, default: "no", help: "allow 3DES in requests when the server offers nothing stronger") {
            settings, value, source throws(UsageError) in settings.allowWeakCrypto = try OptionValue.boolean(value, source)
        },
        OptionSpec("out", "FILE", commands: [.getca], help: "write the CA certificates as PEM") {
            settings, value, source throws(UsageError) in settings.out = try OptionValue.path(value, source)
        },
        OptionSpec("json", nil, commands: [.status], help: "print status as JSON") {
            settings, value, source throws(UsageError) in settings.json = try OptionValue.boolean(value, source)
        },
        OptionSpec("check", nil, commands: [.status],
                   help: "exit status for watchdogs: 0 valid, 10 in the renewal window, 11 last attempt failed, 12 expired, 13 no identity") {
            settings, value, source throws(UsageError) in settings.check = try OptionValue.boolean(value, source)
        },
        OptionSpec("metrics-file", "FILE", help: "Prometheus textfile the daemon rewrites after each attempt") {
            settings, value, source throws(UsageError) in settings.metricsFile = try OptionValue.path(value, source)
        },
    ]

    static func option(named name: String) -> OptionSpec? {
        for option in options where option.name == name { return option }
        return nil
    }

    /// The options `command` cannot run without.
    static func required(by command: Command) -> [OptionSpec] {
        options.filter { $0.requiredBy.contains(command) }
    }
}

extension RenewalSchedule.Threshold {
    /// `14d` (a duration before not-after) or `33%` (a share of the lifetime, 1 to 99).
    public init?(text: String) {
        if text.hasUTF8Suffix("%") {
            guard let percent = Numbers.parseInt(text.utf8.dropLast(), limit: 99), percent >= 1 else { return nil }
            self = .percentOfLifetime(percent)
        } else {
            guard let seconds = DurationText.seconds(text), seconds > 0 else { return nil }
            self = .before(seconds: seconds)
        }
    }

    public var text: String {
        switch self {
        case .before(let seconds): DurationText.format(seconds)
        case .percentOfLifetime(let percent): "\(percent)%"
        }
    }
}
