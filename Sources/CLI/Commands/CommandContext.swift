import Agent
import Crypto
import HTTP
import Platform
import Protocol
import Separation

/// What every command needs, built once from the settings.
struct CommandContext {
    let settings: Settings
    let logger: Logger
    /// The daemon's signal handling; nil for one-shot commands, which SIGTERM simply ends.
    var waiter: Waiter? = nil
    /// The process that runs hooks, forked before any secret was read (`withHookHelper`).
    var hooks: HookHelper? = nil
    /// A network process started ahead of the first job (`withNetworkProcessStarted`).
    var startedNetworkProcess: StartedNetworkProcess? = nil

    /// This context with a hook helper for the configured hook, forked now: call it first, before
    /// the challenge is read or the keystore opened. Without a hook configured there is none.
    func withHookHelper() -> CommandContext {
        guard let command = settings.hook else { return self }
        var published: [(String, String)] = []
        if let path = settings.certOut { published.append(("SCEP_AGENT_CERT_OUT", path)) }
        if let path = settings.keyOut { published.append(("SCEP_AGENT_KEY_OUT", path)) }
        if let path = settings.chainOut { published.append(("SCEP_AGENT_CHAIN_OUT", path)) }
        if let path = settings.bundleOut { published.append(("SCEP_AGENT_BUNDLE_OUT", path)) }
        let hook = HookHelper.Hook(command: command, keystore: settings.keystore, published: published)
        var context = self
        do { context.hooks = try HookHelper.start(hook, timeoutMilliseconds: 5 * 60 * 1000) } catch {
            logger.error("cannot start the hook helper; hooks will not run", [("detail", "\(error)")])
        }
        return context
    }

    /// The key process's own filter (`Sandbox.confineKeyProcess`): after the hook helper is
    /// forked, before any secret is read. A kernel without seccomp is said once, and the agent
    /// goes on.
    func confineKeyProcess() {
        #if SCEP_SANDBOX_PROBES
        // The probe once before the filter too, so a test can tell the filter's answer from the
        // kernel's own (an old kernel answers clone3 with ENOSYS by itself).
        let probe = environmentValue("SCEP_AGENT_KEY_PROBE")
        let before = probe.map { Sandbox.keyProcessProbe($0) }
        #endif
        for (step, reason) in Sandbox.confineKeyProcess() {
            logger.info("key process: a sandbox step is unavailable", [("step", step.name), ("reason", reason)])
        }
        #if SCEP_SANDBOX_PROBES
        if let probe, let before {
            logger.warn("key process probe", [("probe", probe), ("before", before), ("result", Sandbox.keyProcessProbe(probe))])
        }
        #endif
    }

    /// This context with a network process started now, for its first job: call it before the
    /// challenge is read or the keystore opened. Without one, the job starts its own.
    func withNetworkProcessStarted() -> CommandContext {
        var context = self
        do { context.startedNetworkProcess = try StartedNetworkProcess() } catch {
            logger.debug("cannot start the network process ahead of its job", [("detail", error.message)])
        }
        return context
    }

    /// A job for a network process: everything it needs to reach the server, read here, by the
    /// key process, because the network process may open no file.
    func networkJob(_ command: NetworkJob.Command) throws(CommandFailure) -> NetworkJob {
        guard let url = settings.url else { throw CommandFailure(.usage, "no --url configured") }
        if url.scheme == .https && !HTTPClient.supportsTLS { throw CommandFailure(.usage, HTTPClient.noTLSMessage) }
        var job = NetworkJob(command: command, url: "\(url)")
        if let path = settings.tlsCA {
            do { job.tlsTrust = try readFile(path, limit: 1 << 20) } catch {
                throw CommandFailure(.usage, "cannot read --tls-ca: \(error)")
            }
        } else if url.scheme == .https {
            throw CommandFailure(.usage, "an https:// URL needs --tls-ca (a PEM bundle of the CAs to trust)")
        }
        job.proxy = try proxy(for: url)
        job.timeoutSeconds = settings.timeout
        // Name resolution reads these; a device without them resolves IP literals only.
        job.resolvConf = (try? readFile("/etc/resolv.conf", limit: 64 << 10)) ?? []
        job.hosts = (try? readFile("/etc/hosts", limit: 256 << 10)) ?? []
        job.pin = settings.caFingerprint ?? []
        job.raPins = settings.raFingerprints
        job.allowWeakCrypto = settings.allowWeakCrypto
        job.userAgent = "scep-agent/\(Version.number)"
        job.logLevel = logger.level
        job.unprivileged = NetworkJob.unprivilegedAccount()
        #if SCEP_SANDBOX_PROBES
        job.probe = environmentValue("SCEP_AGENT_SANDBOX_PROBE")
        #endif
        return job
    }

    /// The proxy for `url`: --proxy, else the environment the agent was started with
    /// (`https_proxy` or `http_proxy` by the URL's scheme, then their upper-case forms), minus
    /// the hosts `no_proxy` names; the credentials from --proxy-credentials-file.
    func proxy(for url: ServerURL) throws(CommandFailure) -> ProxyConfiguration? {
        let names = url.scheme == .https ? ["https_proxy", "HTTPS_PROXY"] : ["http_proxy", "HTTP_PROXY"]
        guard let text = settings.proxy ?? names.lazy.compactMap({ environmentValue($0) }).first(where: { !$0.isEmpty }) else {
            return nil
        }
        var authorization: String? = nil
        if let path = settings.proxyCredentialsFile {
            let bytes: [UInt8]
            do throws(SystemError) { bytes = try TrustedFile.read(path, limit: 4096, readers: .ownerOnly) } catch {
                throw CommandFailure(.usage, "cannot read --proxy-credentials-file: \(error)")
            }
            guard let value = ProxyConfiguration.basicAuthorization(bytes) else {
                throw CommandFailure(.usage, "--proxy-credentials-file must hold user:password on its first line")
            }
            authorization = value
        }
        let bypass = ProxyConfiguration.bypassList(environmentValue("no_proxy") ?? environmentValue("NO_PROXY") ?? "")
        do throws(ProxyError) { return try ProxyConfiguration(url: text, authorization: authorization, bypass: bypass) } catch {
            throw CommandFailure(.usage, "\(error)")
        }
    }

    /// Runs a job in a network process, answering its key requests from `authority`.
    func run(_ job: NetworkJob, authority: KeyAuthority?) throws(AgentFailure) -> NetworkResult {
        let waiter = waiter
        let server = KeyServer(logger: logger, interrupted: { waiter?.terminationRequested() ?? false })
        return try server.run(job, authority: authority, started: startedNetworkProcess)
    }

    /// A job without keys (caps, getca): its result, or the failure as a command's.
    func runKeyless(_ command: NetworkJob.Command) throws(CommandFailure) -> NetworkResult {
        let job = try networkJob(command)
        let result: NetworkResult
        do { result = try run(job, authority: nil) } catch { throw CommandFailure(error.kind.exitStatus, error.message) }
        if case .failed(let kind, let message, _) = result { throw CommandFailure(kind == .interrupted ? .failure : kind.exitStatus, message) }
        return result
    }

    func randomGenerator() throws(CommandFailure) -> RandomGenerator {
        do { return try RandomGenerator() } catch { throw CommandFailure(.failure, "\(error)") }
    }
}

/// A command's failure: the exit status and the one line to print.
struct CommandFailure: Error {
    let status: ExitStatus
    let message: String

    init(_ status: ExitStatus, _ message: String) {
        self.status = status
        self.message = message
    }

    init(_ error: SCEPError) {
        self.init(.failure, "\(error)")
    }
}
