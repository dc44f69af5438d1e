import Agent
import ASN1
import Crypto
import HTTP
import Platform
import Protocol
import X509

/// The network process: a fresh image of the agent, started by the key process for one job, that
/// speaks to the server and parses everything it sends, inside a sandbox, holding no key.
///
/// It reads its job from descriptor 3, prepares what needs the file system or a clean heap
/// (TLS trust, the random generator), gives up everything it will not need (`Sandbox`), and
/// only then opens a connection. What it needs from the keys, it asks for over the same
/// descriptor; the key process answers each request or refuses it.
public enum NetworkProcess {
    /// The argument that starts a network process (it is not an option a person uses).
    public static let role = "--network-process"

    /// Exit statuses the key process tells apart from a crash.
    enum Status: Int32 {
        case done = 0
        case noJob = 70
        case sandboxRefused = 71  // ChildExit.sandboxRefused
    }

    public static func main() -> Int32 {
        Sandbox.forbidCoreDumps()
        let channel = Channel(descriptor: 3)
        guard let message = try? channel.receive(limit: Wire.maximumMessage),
              let job = try? NetworkJob(decoding: message) else { return Status.noJob.rawValue }
        let link = KeyLink(channel: channel)
        LogForwarding.sink = { level, event, fields in
            link.send(Wire.encode(.log) { writer in
                writer.writeInteger(level.rawValue)
                writer.writeText(event)
                writer.writeSequence { writer in
                    for (key, value) in fields.prefix(32) {
                        writer.writeText(key)
                        writer.writeText(value)
                    }
                }
            })
        }
        let logger = Logger(level: job.logLevel, destination: .forward)

        // Everything that reads a file happens before the sandbox (the job brought the files'
        // contents); TLS seeds its generator with getrandom(2), which the sandbox allows.
        let url: ServerURL
        do { url = try ServerURL(job.url) } catch {
            link.send(NetworkResult.failed(.configuration, message: "\(error)", serverRefused: false).encoded())
            return Status.done.rawValue
        }
        var http = HTTPClient(tlsTrust: job.tlsTrust)
        http.userAgent = job.userAgent
        http.exchangeTimeoutMilliseconds = job.timeoutSeconds * 1000
        http.connectTimeoutMilliseconds = min(10_000, job.timeoutSeconds * 1000)
        http.resolver = ResolverConfiguration(resolvConf: job.resolvConf, hosts: job.hosts)
        http.proxy = job.proxy
        var client = SCEPClient(transport: HTTPTransport(client: http, url: url, logger: logger))

        let report: Sandbox.Report
        do { report = try Sandbox.enterNetworkSandbox(unprivileged: job.unprivileged) } catch {
            logger.error("cannot enter the network sandbox", [("detail", "\(error)")])
            return Status.sandboxRefused.rawValue
        }
        for (step, reason) in report.unavailable {
            logger.warn("sandbox step unavailable on this kernel", [("step", step.name), ("detail", reason)])
        }
        logger.debug("sandboxed", [("landlock_abi", "\(report.landlockABI)")])
        #if SCEP_SANDBOX_PROBES
        if let probe = job.probe, probe != "crash", probe != "linger" {
            logger.error("sandbox probe survived", [("probe", probe), ("result", Sandbox.probe(probe))])
        }
        #endif

        let result = perform(job, client: &client, link: link, logger: logger)
        link.send(result.encoded())
        #if SCEP_SANDBOX_PROBES
        if job.probe == "linger" {
            // Test builds: stay alive with the channel open after the result, until the key
            // process closes its end; it must end this process itself rather than wait for it.
            _ = channel.isReadable(within: -1)
        }
        #endif
        return Status.done.rawValue
    }

    static func perform(_ job: NetworkJob, client: inout SCEPClient<HTTPTransport>, link: KeyLink, logger: Logger) -> NetworkResult {
        do throws(AgentFailure) {
            switch job.command {
            case .caps:
                do { return .capabilities(try client.capabilities().keywords) } catch { throw AgentFailure(error) }
            case .getca:
                do { return .certificates(try client.caCertificatesUnpinned().map { $0.der }) } catch { throw AgentFailure(error) }
            case .nextCA:
                do {
                    let certificates = try client.caCertificatesUnpinned().map { $0.der }
                    return .nextCA(certificates: certificates, answer: try client.nextCABody())
                } catch {
                    throw AgentFailure(error)
                }
            case .enroll, .renew, .poll:
                var keys = RemoteKeyService(link: link)
                #if SCEP_SANDBOX_PROBES
                if job.probe == "crash" {
                    // Test builds: die midway, once the server has been reached and nothing is committed.
                    _ = try? client.capabilities()
                    Sandbox.crash()
                }
                #endif
                let configuration = AgentConfiguration(pin: job.pin, subject: nil, reuseKey: false, extensions: [],
                                                       schedule: RenewalSchedule(threshold: .percentOfLifetime(33)), pollInterval: 0,
                                                       pollTimeout: 0, retryMinimum: 0, retryMaximum: 0,
                                                       allowWeakCrypto: job.allowWeakCrypto, hook: nil, consumeChallenge: false,
                                                       raPins: job.raPins)
                let end = try NetworkTransaction.run(client: &client, keys: &keys, configuration: configuration, now: wallClockSeconds(),
                                                     logger: logger)
                return .transaction(pending: end == .pending)
            }
        } catch {
            return .failed(error.kind, message: error.message, serverRefused: error.serverRefused)
        }
    }
}
