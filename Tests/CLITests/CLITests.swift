import Foundation
import Testing
@testable import CLI
import Agent
import ASN1
import X509
import HTTP
import Platform

let pin = "sha256:" + String(repeating: "ab", count: 32)

func settings(_ arguments: [String], config: String? = nil) throws(UsageError) -> Settings {
    let invocation = try Invocation.parse(arguments)
    let entries = try config.map { text throws(UsageError) in try ConfigFile.parse(Array(text.utf8), path: "test.conf") } ?? []
    return try invocation.settings(configEntries: entries)
}

func usageError(_ arguments: [String], config: String? = nil) -> String? {
    do {
        _ = try settings(arguments, config: config)
        return nil
    } catch {
        return error.message
    }
}

@Suite struct InvocationTests {
    @Test func helpAndVersionNeedNoCommand() throws {
        #expect(try Invocation.parse(["--version"]).action == .version)
        #expect(try Invocation.parse(["--help"]).action == .help(nil))
        #expect(try Invocation.parse(["enroll", "--help"]).action == .help(.enroll))
        #expect(try Invocation.parse(["help", "getca"]).action == .help(.getca))
    }

    @Test func bothOptionFormsAndPositions() throws {
        let a = try settings(["--url", "http://127.0.0.1:8080/scep", "caps"])
        let b = try settings(["caps", "--url=http://127.0.0.1:8080/scep"])
        #expect(a == b)
        #expect(a.url?.port == 8080)
        #expect(a.url?.pathAndQuery == "/scep")
    }

    @Test("one-line errors name the problem", arguments: [
        (["frobnicate"], "unknown command 'frobnicate'"),
        (["caps", "--bogus"], "unknown option '--bogus'"),
        (["caps", "-x"], "unknown option '-x'"),
        (["caps", "--url"], "option '--url' needs a value"),
        (["caps"], "'caps' needs --url"),
        ([], "no command given"),
        (["caps", "extra", "--url", "http://h/"], "unexpected argument 'extra'"),
        (["caps", "--url", "ftp://h/"], "--url: the URL 'ftp://h/' must start with http:// or https://"),
        (["caps", "--url", "http://h/", "--json"], "option '--json' does not apply to 'caps'"),
        (["caps", "--url", "http://h/", "--key-bits", "1024"], "--key-bits: RSA key size must be 2048, 3072 or 4096"),
        (["caps", "--url", "http://h/", "--poll-interval", "5x"], "--poll-interval: expected a duration"),
        (["caps", "--url", "http://h/", "--log-level", "loud"], "--log-level: log level must be"),
        (["getca", "--url", "http://h/", "--ca-fingerprint", "abcd"], "--ca-fingerprint: expected a SHA-256 fingerprint"),
        (["enroll", "--url", "http://h/", "--ca-fingerprint", pin, "--subject", "XX=1"], "--subject: invalid subject: unknown attribute type 'XX'"),
        (["caps", "--url", "http://h/", "--san", "IP:300.1.1.1"], "--san: expected names"),
        (["caps", "--url", "http://h/", "--san", "X400:foo"], "--san: expected names"),
        (["caps", "--url", "http://h/", "--key-usage", "everything"], "--key-usage: expected key usages"),
        (["caps", "--url", "http://h/", "--publish-mode", "0666"], "--publish-mode: 0666 would be world-writable"),
        (["caps", "--url", "http://h/", "--key-mode", "rw"], "--key-mode: expected an octal mode"),
        (["caps", "--url", "http://h/", "--publish-owner", "no-such-user-here"], "--publish-owner: no such user"),
        (["caps", "--url", "http://h/", "--extended-key-usage", "codeSigning"], "--extended-key-usage: expected clientAuth"),
        (["caps", "--url", "http://h/", "--key-type", "ec:p521"], "--key-type: key type must be rsa:2048"),
        (["caps", "--url", "http://h/", "--key-mode", "0644"], "--key-mode: 0644 would let others read the private key"),
        (["caps", "--url", "http://h/", "--ra-fingerprint", "abcd"], "--ra-fingerprint: expected a SHA-256 fingerprint"),
        (["caps", "--url", "http://h/", "--key-storage", "hsm"], "--key-storage: key storage must be file or tpm, not 'hsm'"),
        (["caps", "--url", "http://h/", "--tpm-device", "tcp:localhost:2321"], "--tpm-device: expected a device path"),
        (["caps", "--url", "http://h/", "--tpm-device", "tpmrm0"], "--tpm-device: expected a device path"),
        (["caps", "--url", "http://h/", "--key-storage", "tpm", "--key-out", "/k"], "--key-storage tpm keeps the key inside the TPM"),
        (["caps", "--url", "http://h/", "--key-storage", "tpm", "--bundle-out", "/b"], "--key-storage tpm keeps the key inside the TPM"),
    ])
    func errors(arguments: [String], expected: String) {
        let message = usageError(arguments)
        #expect(message?.hasPrefix(expected) == true, "got: \(message ?? "no error")")
        #expect(message?.contains("\n") == false)
    }

    @Test func everyOptionIsAcceptedWithAValidValue() throws {
        let values: [String: String] = [
            "url": "https://[::1]:8443/scep", "ca-fingerprint": pin, "challenge-file": "/c", "subject": "CN=a",
            "key-bits": "3072", "keystore": "/k", "cert-out": "/a", "key-out": "/b", "chain-out": "/d",
            "renew-before": "14d", "poll-interval": "30s", "poll-timeout": "2h", "hook": "/bin/true",
            "reuse-key": "yes", "tls-ca": "/t", "log-level": "debug", "syslog": "no", "allow-weak-crypto": "no",
            "san": "DNS:dev.example,IP:192.0.2.1,IP:2001:db8::1,email:ops@example.com", "key-usage": "digitalSignature,keyEncipherment",
            "extended-key-usage": "clientAuth", "bundle-out": "/bundle", "publish-mode": "0640", "key-mode": "0440",
            "publish-owner": "0", "publish-group": "root", "device-secret": "/secret", "serial-file": "/s", "timeout": "20s",
            "consume-challenge": "yes", "retry-min": "30s", "retry-max": "1h", "key-type": "ec:p384",
            "ra-fingerprint": String(repeating: "cd", count: 32), "metrics-file": "/var/lib/node-exporter/scep-agent.prom",
            "proxy": "http://proxy.example:3128", "proxy-credentials-file": "/etc/scep-agent/proxy",
            "key-storage": "FILE", "tpm-device": "tcp:[::1]:2321", "tpm-owner-auth-file": "/o",
        ]
        var arguments = ["run"]
        for option in OptionTable.options where option.isConfigKey {
            let value = try #require(values[option.name], "no test value for --\(option.name)")
            arguments.append("--\(option.name)=\(value)")
        }
        let parsed = try settings(arguments)
        #expect(parsed.url?.host == "::1")
        #expect(parsed.url?.hostHeader == "[::1]:8443")
        #expect(parsed.keyType == .rsa(bits: 3072), "--key-bits after --key-type wins")
        #expect(parsed.raFingerprints == [[UInt8](repeating: 0xcd, count: 32)])
        #expect(parsed.renewBefore == .before(seconds: 14 * 86_400))
        #expect(parsed.pollInterval == 30 && parsed.pollTimeout == 7200)
        #expect(parsed.reuseKey && !parsed.syslog)
        #expect(parsed.keyStorage == .file && parsed.tpmDevice == "tcp:[::1]:2321" && parsed.tpmOwnerAuthFile == "/o")
        #expect(parsed.logLevel == .debug)
        #expect(parsed.metricsFile == "/var/lib/node-exporter/scep-agent.prom")
        #expect(parsed.proxy == "http://proxy.example:3128" && parsed.proxyCredentialsFile == "/etc/scep-agent/proxy")
        #expect(parsed.subjectAltNames == [.dns("dev.example"), .ipAddress([192, 0, 2, 1]),
                                           .ipAddress([0x20, 0x01, 0x0d, 0xb8] + [UInt8](repeating: 0, count: 11) + [1]),
                                           .email("ops@example.com")])
        #expect(parsed.keyUsage == [.digitalSignature, .keyEncipherment])
        #expect(parsed.requestExtensions.count == 3)
        #expect(parsed.consumeChallenge && parsed.retryMinimum == 30 && parsed.retryMaximum == 3600)
        #expect(parsed.publishMode == 0o640 && parsed.keyMode == 0o440 && parsed.publishOwner == 0 && parsed.publishGroup == 0)
    }
}

@Suite struct KeyTypeTests {
    @Test func keyTypesAndTheRSAShorthand() throws {
        #expect(try settings(["caps", "--url", "http://h/"]).keyType == nil, "unset: RSA-2048 on first boot, the current type on renewal")
        #expect(try settings(["caps", "--url", "http://h/", "--key-type", "ec:p256"]).keyType == .ec(.p256))
        #expect(try settings(["caps", "--url", "http://h/", "--key-type", "EC:P384"]).keyType == .ec(.p384))
        #expect(try settings(["caps", "--url", "http://h/", "--key-bits", "4096"]).keyType == .rsa(bits: 4096))
    }

    @Test func raFingerprintsAccumulate() throws {
        let first = String(repeating: "01", count: 32), second = String(repeating: "02", count: 32)
        let parsed = try settings(["caps", "--url", "http://h/", "--ra-fingerprint", first], config: "ra-fingerprint = \(second)\n")
        #expect(parsed.raFingerprints == [[UInt8](repeating: 2, count: 32), [UInt8](repeating: 1, count: 32)])
    }
}

@Suite struct ConfigFileTests {
    @Test func commandLineOverridesConfigFile() throws {
        let config = """
        # factory settings
        url = http://127.0.0.1:9000/scep
        key-bits = 4096

          log-level = "warn"
        reuse-key = yes
        """
        let parsed = try settings(["caps", "--key-bits", "2048"], config: config)
        #expect(parsed.url?.port == 9000)
        #expect(parsed.keyType == .rsa(bits: 2048))
        #expect(parsed.logLevel == .warn)
        #expect(parsed.reuseKey)
    }

    @Test("malformed lines are named with file and line", arguments: [
        ("url = http://h/\nnonsense\n", "test.conf:2: expected 'key = value', found 'nonsense'"),
        ("colour = blue\n", "test.conf:1: unknown key 'colour'"),
        ("json = yes\n", "test.conf:1: unknown key 'json'"),
        ("= x\n", "test.conf:1: a line has no key"),
        ("key-bits = lots\n", "test.conf:1: key-bits: RSA key size must be"),
        ("reuse-key = maybe\n", "test.conf:1: reuse-key: expected yes or no"),
    ])
    func malformed(config: String, expected: String) {
        let message = usageError(["caps", "--url", "http://h/"], config: config)
        #expect(message?.hasPrefix(expected) == true, "got: \(message ?? "no error")")
    }

    @Test func nulBytesAreRefused() {
        #expect(throws: UsageError.self) { try ConfigFile.parse([0x61, 0, 0x3d], path: "x") }
    }
}

@Suite struct ValueTests {
    @Test func durations() {
        #expect(DurationText.seconds("30s") == 30)
        #expect(DurationText.seconds("10m") == 600)
        #expect(DurationText.seconds("12h") == 43_200)
        #expect(DurationText.seconds("14d") == 1_209_600)
        #expect(DurationText.seconds("45") == 45)
        #expect(DurationText.seconds("") == nil)
        #expect(DurationText.seconds("d") == nil)
        #expect(DurationText.seconds("-5s") == nil)
        #expect(DurationText.seconds("99999999999d") == nil)
        #expect(DurationText.format(86_400) == "1d")
        #expect(DurationText.format(90) == "90s")
    }

    @Test func renewalThresholds() {
        #expect(RenewalSchedule.Threshold(text: "33%") == .percentOfLifetime(33))
        #expect(RenewalSchedule.Threshold(text: "14d") == .before(seconds: 1_209_600))
        #expect(RenewalSchedule.Threshold(text: "0%") == nil)
        #expect(RenewalSchedule.Threshold(text: "100%") == nil)
        #expect(RenewalSchedule.Threshold(text: "%") == nil)
    }

    @Test func fingerprintForms() {
        let digest = [UInt8](repeating: 0xab, count: 32)
        #expect(FingerprintText.parse(String(repeating: "AB", count: 32)) == digest)
        #expect(FingerprintText.parse(pin) == digest)
        #expect(FingerprintText.parse(FingerprintText.format(digest)) == digest)
        #expect(FingerprintText.parse(String(repeating: "ab", count: 31)) == nil)
        #expect(FingerprintText.parse(String(repeating: "zz", count: 32)) == nil)
    }
}

@Suite struct HelpTests {
    @Test func helpListsEveryCommandAndEveryConfigOption() {
        let text = Help.general()
        for command in Command.all { #expect(text.contains("  \(command.rawValue) ")) }
        for option in OptionTable.options where option.isConfigKey { #expect(text.contains("--\(option.name)")) }
        #expect(Help.command(.getca).contains("--out FILE"))
        #expect(Help.command(.status).contains("--json"))
    }

    @Test func versionNamesTheCryptoLibrary() {
        #expect(Version.text.hasPrefix("scep-agent \(Version.number) (mbedTLS 2.28"))
    }
}

@Suite struct SubjectTemplateTests {
    @Test func fillsPlaceholdersAndEscapesTheirValues() throws {
        let facts = ["serial": "SN,42", "hostname": "dev-7"]
        #expect(try SubjectTemplate.expand("CN={serial},OU={hostname},O=Acme", lookup: { facts[$0] }) == "CN=SN\\,42,OU=dev-7,O=Acme")
        #expect(throws: UsageError.self) { try SubjectTemplate.expand("CN={mac}", lookup: { facts[$0] }) }
        #expect(throws: UsageError.self) { try SubjectTemplate.expand("CN={colour}", lookup: { facts[$0] }) }
        #expect(throws: UsageError.self) { try SubjectTemplate.expand("CN={serial", lookup: { facts[$0] }) }
    }

    /// U+0600 (a prepended concatenation mark) and the comma after it are one Character: escaping
    /// by Characters missed the comma, and a hostname could then add `O=Evil` to the subject.
    @Test func aCommaAfterAPrependingMarkIsEscapedToo() throws {
        let expanded = try SubjectTemplate.expand("CN={hostname}", lookup: { _ in "x\u{600},O=Evil" })
        let escaped = "CN=x\u{600}\\,O\\=Evil"
        #expect(expanded == escaped)
        let name = try DistinguishedName(rfc4514: expanded)
        #expect(name.attributes.count == 1)
    }

    @Test func hostnameComesFromTheSystem() throws {
        let parsed = try settings(["caps", "--url", "http://h/", "--subject", "CN={hostname}"])
        #expect(parsed.subject?.value(of: OID.commonName) == ProcessInfo.processInfo.hostName)
    }

    /// A board profile names where the serial lives; the option may come after --subject.
    @Test func serialComesFromTheSerialFile() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("serial-\(getpid())").path
        try Data("BBB-1234\0\n".utf8).write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let parsed = try settings(["caps", "--url", "http://h/", "--subject", "CN=dev-{serial}", "--serial-file", path])
        #expect(parsed.subject?.value(of: OID.commonName) == "dev-BBB-1234")

        let missing = path + ".missing"
        #expect {
            try settings(["caps", "--url", "http://h/", "--subject", "CN={serial}", "--serial-file", missing])
        } throws: { error in
            (error as? UsageError)?.message == "--subject: the subject uses {serial}, which this device does not provide (serial-file \(missing) is missing or empty)"
        }
    }
}
