/// One long option. Every option that is not command-specific is also a config-file key of the
/// same name, so the help text, the parser and the config reference cannot disagree.
struct OptionSpec: Sendable {
    let name: String
    /// The value's placeholder in help ("URL"); nil for a flag.
    let argument: String?
    /// Only these commands accept it; empty means every command and the config file.
    let commands: [Command]
    let help: String

    var isFlag: Bool { argument == nil }
    var isConfigKey: Bool { commands.isEmpty }
}

enum OptionTable {
    static let options: [OptionSpec] = [
        OptionSpec(name: "url", argument: "URL", commands: [], help: "SCEP endpoint, http:// or https://"),
        OptionSpec(name: "ca-fingerprint", argument: "FP", commands: [],
                   help: "SHA-256 of the CA certificate's DER, hex (required: the CA is always pinned)"),
        OptionSpec(name: "challenge-file", argument: "FILE", commands: [],
                   help: "factory challenge password (or the SCEP_CHALLENGE environment variable)"),
        OptionSpec(name: "subject", argument: "DN", commands: [], help: "subject, e.g. CN=dev-0042,O=Acme"),
        OptionSpec(name: "san", argument: "NAMES", commands: [],
                   help: "subjectAltName to request, e.g. DNS:dev.example,IP:192.0.2.1"),
        OptionSpec(name: "key-usage", argument: "USAGES", commands: [],
                   help: "keyUsage to request, e.g. digitalSignature,keyEncipherment"),
        OptionSpec(name: "extended-key-usage", argument: "PURPOSES", commands: [],
                   help: "extendedKeyUsage to request: clientAuth, serverAuth"),
        OptionSpec(name: "serial-file", argument: "FILE", commands: [],
                   help: "where {serial} comes from (default: device tree, then DMI product serial)"),
        OptionSpec(name: "key-bits", argument: "N", commands: [], help: "RSA key size: 2048 (default), 3072, 4096"),
        OptionSpec(name: "keystore", argument: "DIR", commands: [],
                   help: "the agent's own state (default /var/lib/scep-agent)"),
        OptionSpec(name: "cert-out", argument: "FILE", commands: [], help: "published copy of the certificate (PEM)"),
        OptionSpec(name: "key-out", argument: "FILE", commands: [], help: "published copy of the private key (PEM, 0600)"),
        OptionSpec(name: "chain-out", argument: "FILE", commands: [], help: "published copy of the CA chain (PEM)"),
        OptionSpec(name: "bundle-out", argument: "FILE", commands: [],
                   help: "published key, certificate and chain in one file (never a mismatched pair)"),
        OptionSpec(name: "publish-mode", argument: "MODE", commands: [], help: "mode of --cert-out and --chain-out (default 0644)"),
        OptionSpec(name: "key-mode", argument: "MODE", commands: [], help: "mode of --key-out and --bundle-out (default 0600)"),
        OptionSpec(name: "publish-owner", argument: "USER", commands: [], help: "owner of the published copies"),
        OptionSpec(name: "publish-group", argument: "GROUP", commands: [], help: "group of the published copies"),
        OptionSpec(name: "device-secret", argument: "FILE", commands: [],
                   help: "encrypt the keystore's private key at rest with a key derived from this file"),
        OptionSpec(name: "renew-before", argument: "D", commands: [],
                   help: "renew this long before not-after, or this share of the lifetime (default 33%)"),
        OptionSpec(name: "poll-interval", argument: "D", commands: [], help: "PENDING: time between polls (default 5m)"),
        OptionSpec(name: "poll-timeout", argument: "D", commands: [], help: "PENDING: give up polling after (default 1h)"),
        OptionSpec(name: "hook", argument: "COMMAND", commands: [], help: "run after each new certificate is committed"),
        OptionSpec(name: "consume-challenge", argument: nil, commands: [],
                   help: "wipe the challenge file after the first successful enrollment"),
        OptionSpec(name: "retry-min", argument: "D", commands: [], help: "run: first delay after a failure (default 1m)"),
        OptionSpec(name: "retry-max", argument: "D", commands: [], help: "run: longest delay between failed attempts (default 6h)"),
        OptionSpec(name: "reuse-key", argument: nil, commands: [], help: "renew with the current key (weaker; off by default)"),
        OptionSpec(name: "timeout", argument: "D", commands: [],
                   help: "the longest one HTTP exchange may take, connecting included (default 60s)"),
        OptionSpec(name: "tls-ca", argument: "FILE", commands: [], help: "CA bundle (PEM) for https:// URLs"),
        OptionSpec(name: "log-level", argument: "LEVEL", commands: [], help: "error, warn, info (default), debug"),
        OptionSpec(name: "syslog", argument: nil, commands: [], help: "log to syslog instead of standard error"),
        OptionSpec(name: "allow-weak-crypto", argument: nil, commands: [],
                   help: "allow 3DES in requests when the server offers nothing stronger"),
        OptionSpec(name: "out", argument: "FILE", commands: [.getca], help: "write the CA certificates as PEM"),
        OptionSpec(name: "json", argument: nil, commands: [.status], help: "print status as JSON"),
    ]

    static func option(named name: String) -> OptionSpec? {
        for option in options where option.name == name { return option }
        return nil
    }
}
