import Foundation
import Testing
@testable import Agent
import ASN1
import Crypto
import Keystore
import Platform
import Protocol
import X509
import TestSupport

/// A host whose clock only moves when the daemon waits: days of renewals in a moment.
final class SimulatedWorld {
    var time: Int64
    var waits: [Int64] = []
    var stopAt: Int64
    var hooks: [[(String, String)]] = []
    var serverDown = false
    var signals: [WakeReason] = []
    var consumed = 0
    var metrics: [AgentMetrics] = []
    let responder: TestResponder

    init(responder: TestResponder, start: Int64, stopAfter: Int64) {
        self.responder = responder
        time = start
        stopAt = start + stopAfter
    }
}

/// The network side runs in process here, against the in-process responder, with the authority
/// itself as its `KeyService`: the same `NetworkTransaction` the sandboxed process runs.
struct SimulatedHost: AgentHost {
    let world: SimulatedWorld
    let logger = Logger(level: .error)

    func now() -> Int64 { world.time }

    mutating func wait(until deadline: Int64) -> WakeReason {
        world.waits.append(deadline)
        if !world.signals.isEmpty { return world.signals.removeFirst() }
        if deadline >= world.stopAt {
            world.time = world.stopAt
            return .terminate
        }
        world.time = max(world.time, deadline)
        return .deadline
    }

    mutating func pendingSignal() -> WakeReason? { nil }

    mutating func exchange(_ kind: TransactionKind, authority: KeyAuthority) throws(AgentFailure) -> TransactionOutcome {
        var client = SCEPClient(transport: DownableTransport(world: world))
        var keys = authority
        let end = try NetworkTransaction.run(client: &client, keys: &keys, configuration: authority.configuration, now: world.time,
                                             logger: logger)
        return try authority.outcome(of: end)
    }

    mutating func nextCA(authority: KeyAuthority) throws(AgentFailure) -> Certificate? {
        var client = SCEPClient(transport: DownableTransport(world: world))
        do throws(SCEPError) {
            let ca = try client.caCertificates(pin: authority.configuration.pin, now: world.time)
            return try client.nextCA(current: ca, now: world.time)
        } catch {
            throw AgentFailure(error)
        }
    }

    func consumeChallenge() throws(AgentFailure) { world.consumed += 1 }
    func publish(_ identity: StoredIdentity) throws(AgentFailure) {}
    mutating func runHook(_ command: String, environment: [(String, String)]) -> Bool {
        world.hooks.append(environment)
        return true
    }

    mutating func recordMetrics(_ metrics: AgentMetrics) { world.metrics.append(metrics) }
}

/// The in-process responder, or "connection refused" while the world's server is down.
struct DownableTransport: SCEPTransport {
    let world: SimulatedWorld
    var inner: InProcessTransport
    var authenticatesServer: Bool { false }

    init(world: SimulatedWorld) {
        self.world = world
        inner = InProcessTransport(responder: world.responder)
    }

    mutating func get(query: String) throws(SCEPError) -> SCEPResponse {
        if world.serverDown { throw .transport("connect: Connection refused") }
        return try inner.get(query: query)
    }

    mutating func post(query: String, body: [UInt8], contentType: String) throws(SCEPError) -> SCEPResponse {
        if world.serverDown { throw .transport("connect: Connection refused") }
        return try inner.post(query: query, body: body, contentType: contentType)
    }
}

func makeDaemon(fault: ResponderFault = .none, lifetime: Int64 = 86_400, stopAfter: Int64 = 5 * 86_400,
                configure: (inout AgentConfiguration) -> Void = { _ in }) throws -> (Daemon<SimulatedHost>, SimulatedWorld) {
    let ca = try TestCA()
    let responder = try TestResponder(ca: ca, fault: fault)
    responder.certificateLifetime = lifetime
    let world = SimulatedWorld(responder: responder, start: Int64(Date().timeIntervalSince1970), stopAfter: stopAfter)
    responder.clock = { world.time }
    var configuration = AgentConfiguration(
        pin: ca.pin, subject: try DistinguishedName(rfc4514: "CN=dev-0042"), keyType: .rsa(bits: 2048), reuseKey: false, extensions: [],
        schedule: RenewalSchedule(threshold: .percentOfLifetime(33)), pollInterval: 60, pollTimeout: 600,
        retryMinimum: 60, retryMaximum: 6 * 3600, allowWeakCrypto: false, hook: "true", consumeChallenge: false)
    configure(&configuration)
    let path = try scratchDirectory("daemon").path + "/ks"
    let keystore = try Keystore(path: path, create: true, forWriting: true, random: ca.random)
    let random = ca.random
    let authority = KeyAuthority(keystore: keystore, configuration: configuration, random: random, logger: Logger(level: .error),
                                 makeKey: { (type, _) throws(CryptoError) in try SoftwareKey.generate(type, random: random) })
    authority.challenge = SecretBytes(Array("s3cret".utf8))
    authority.clock = { world.time }
    let daemon = Daemon(host: SimulatedHost(world: world), authority: authority)
    return (daemon, world)
}

@Suite struct DaemonTests {
    @Test func enrollsThenRenewsAtEachDueTimeWithNewKeysAndNoPolling() throws {
        var (daemon, world) = try makeDaemon()
        daemon.run()
        let operations = world.responder.pkiOperations
        #expect(operations.first == "19")
        // 1-day certificates renewed at 67% of their life (plus up to 10% of the window): 6 or 7 in 5 days.
        let renewals = operations.filter { $0 == "17" }.count
        #expect(renewals >= 6 && renewals <= 8, "\(operations)")
        let keys = world.responder.issuedCertificates.map { $0.publicKeyInfo }
        #expect(Set(keys).count == keys.count, "every renewal uses a new key")
        // It sleeps once per certificate, to the due time: no periodic wake-ups.
        #expect(world.waits.count <= renewals + 2, "\(world.waits.count) waits for \(renewals) renewals")
        #expect(world.hooks.count == operations.count)
        #expect(world.hooks.last?.contains { $0.0 == "SCEP_AGENT_SERIAL" } == true)
        let identity = try #require(try daemon.keystore.load())
        #expect(identity.certificate == world.responder.issuedCertificates.last)
    }

    @Test func backsOffExponentiallyWhileTheServerIsDownAndKeepsTheIdentity() throws {
        var (daemon, world) = try makeDaemon(stopAfter: 86_400 * 3)
        world.serverDown = false
        // Enroll, then take the server down just before renewal is due.
        world.stopAt = world.time + 1
        daemon.run()
        let enrolled = try #require(try daemon.keystore.load())
        world.serverDown = true
        let due = daemon.configuration.schedule.jitteredTime(notBefore: enrolled.certificate.notBefore, notAfter: enrolled.certificate.notAfter,
                                                            seed: RenewalSchedule.seed(enrolled.certificate.publicKeyInfo))
        world.time = due
        world.stopAt = due + 12 * 3600
        world.waits = []
        daemon.run()
        // The deadlines are absolute: the first is due + delay 1, each next one adds the next delay.
        let attempts = [due] + world.waits.dropLast()
        let delays = [world.waits[0] - due] + zip(world.waits.dropLast(), world.waits.dropFirst()).map { $1 - $0 }
        #expect(delays.count >= 5)
        // Each delay lies in the upper half of its ceiling: 60s, 120s, 240s... capped at 6h, and
        // never below a fiftieth of the validity left; while the certificate is still valid, the
        // next try also comes before it expires (half the time left at most, and never sooner than --retry-min).
        for (index, gap) in delays.enumerated() {
            let remaining = max(0, enrolled.certificate.notAfter - attempts[index])
            let ceiling = max(min(Int64(60) << Int64(index), Int64(6 * 3600)), min(Int64(6 * 3600), remaining / 50))
            let cap = remaining > 0 ? max(60, remaining / 2) : Int64.max
            #expect(gap >= min(ceiling / 2, cap) && gap <= min(ceiling, cap), "attempt \(index + 1): \(gap)s, ceiling \(ceiling)s")
            if remaining >= 120 { #expect(attempts[index] + gap <= enrolled.certificate.notAfter) }
        }
        #expect(try daemon.keystore.load()?.certificate == enrolled.certificate, "the identity stays in service")
        // The server comes back: the next attempt renews.
        world.serverDown = false
        world.stopAt = world.time + 7 * 3600
        daemon.run()
        #expect(try daemon.keystore.load()?.certificate != enrolled.certificate)
    }

    @Test func pendingIsPolledUntilTheTimeoutThenRetriedAsANewRequest() throws {
        var (daemon, world) = try makeDaemon(fault: .pendingForever, stopAfter: 3600)
        daemon.run()
        let operations = world.responder.pkiOperations
        #expect(operations.filter { $0 == "19" }.count >= 2, "a fresh PKCSReq after the poll timeout: \(operations)")
        #expect(operations.filter { $0 == "20" }.count >= 10)
        #expect(try daemon.keystore.load() == nil)
        #expect(daemon.keystore.readState()["last_error"]?.contains("PENDING") == true, "\(daemon.keystore.readState().values)")
    }

    @Test func waitsForTheClockBeforeJudgingCertificates() throws {
        var (daemon, world) = try makeDaemon(stopAfter: 600)
        daemon.earliestPlausibleTime = world.time + 300
        daemon.run()
        let firstAttempt = world.waits.first
        #expect(firstAttempt != nil)
        #expect(world.responder.pkiOperations.count == 1, "enrolled once the clock was plausible")
        #expect(daemon.nextStep(now: daemon.earliestPlausibleTime - 1) == .waitForClock(until: daemon.earliestPlausibleTime + 29))
    }

    @Test func anExpiredCertificateWhoseRenewalIsRefusedFallsBackToPKCSReq() throws {
        var (daemon, world) = try makeDaemon(fault: .refuseRenewal, lifetime: 3600, stopAfter: 1)
        daemon.run()
        let first = try #require(try daemon.keystore.load())
        world.time = first.certificate.notAfter + 10
        world.stopAt = world.time + 30
        daemon.run()
        #expect(world.responder.pkiOperations == ["19", "17", "19"])
        #expect(try daemon.keystore.load()?.certificate != first.certificate)
    }

    @Test func aRenewBeforeLongerThanTheLifetimeCannotCauseATightLoop() throws {
        var (daemon, world) = try makeDaemon(lifetime: 3600, stopAfter: 3600) { $0.schedule = RenewalSchedule(threshold: .before(seconds: 7200)) }
        daemon.run()
        // Due immediately each time, yet never two transactions closer than --retry-min (60 s).
        let count = world.responder.pkiOperations.count
        #expect(count >= 5 && count <= 61, "\(count) transactions in an hour")
        let notBefores = world.responder.issuedCertificates.map { $0.notBefore }
        for (earlier, later) in zip(notBefores.dropLast(), notBefores.dropFirst()) { #expect(later - earlier >= 60) }
    }

    /// An EC identity renews with RenewalReq signed by ECDSA, each time with a new EC key; with
    /// no key type configured, a renewal keeps the type of the key in service.
    @Test(arguments: [(KeyType?.some(.ec(.p256)), false), (.some(.ec(.p384)), true), (nil, false)])
    func anECIdentityRenewsWithNewECKeys(keyType: KeyType?, passwordReplies: Bool) throws {
        var (daemon, world) = try makeDaemon(lifetime: 86_400, stopAfter: 3 * 86_400) { $0.keyType = keyType ?? .ec(.p256) }
        world.responder.passwordReplies = passwordReplies
        if keyType == nil {
            // Enroll with P-256, then renew with nothing configured.
            world.stopAt = world.time + 1
            daemon.run()
            daemon.configuration.keyType = nil
            world.stopAt = world.time + 3 * 86_400
        }
        daemon.run()
        let issued = world.responder.issuedCertificates
        #expect(world.responder.pkiOperations.filter { $0 == "17" }.count >= 3, "\(world.responder.pkiOperations)")
        let expected = keyType ?? .ec(.p256)
        #expect(issued.allSatisfy { $0.keyType == expected })
        #expect(Set(issued.map { $0.publicKeyInfo }).count == issued.count, "every renewal uses a new key")
        let identity = try #require(try daemon.keystore.load())
        #expect(identity.key.type == expected && identity.certificate == issued.last)
    }

    /// Certificates that live minutes, with default settings (--retry-min 1m): every renewal
    /// comes before not-after, and none follows another within a tenth of the lifetime.
    @Test func twoMinuteCertificatesRenewBeforeTheyExpire() throws {
        var (daemon, world) = try makeDaemon(lifetime: 120, stopAfter: 1800)
        daemon.run()
        let issued = world.responder.issuedCertificates
        #expect(issued.count >= 15, "\(issued.count) certificates in 30 minutes of 2-minute certificates")
        for (earlier, later) in zip(issued.dropLast(), issued.dropFirst()) {
            // The next certificate was issued (its notBefore is the issue time less 60 s) while
            // the previous one was still valid, and not sooner than 12 s after it.
            let issuedAt = later.notBefore + 60
            #expect(issuedAt < earlier.notAfter, "renewed at \(issuedAt - earlier.notAfter) s past not-after")
            #expect(issuedAt - (earlier.notBefore + 60) >= 12)
        }
    }

    @Test func rollsOverToTheNextCAWhenTheCurrentOneExpires() throws {
        var (daemon, world) = try makeDaemon(lifetime: 3 * 86_400, stopAfter: 34 * 86_400)
        let oldCA = world.responder.ca
        let nextCA = try TestCA(subject: "CN=Next SCEP CA", lifetime: 400 * 86_400)
        world.responder.nextCA = nextCA
        world.responder.rolloverAt = oldCA.certificate.notAfter + 1
        daemon.run()
        let identity = try #require(try daemon.keystore.load())
        #expect(identity.chain.last == nextCA.certificate, "the identity now chains to the next CA")
        #expect(daemon.configuration.pin == nextCA.pin)
        #expect(daemon.keystore.readState()["ca_pin"] == nextCA.pin.map { String(format: "%02x", $0) }.joined())
        #expect(identity.certificate.isValid(at: world.time))
        // It woke for the fetch and the switch, not on a timer: few waits for 34 days.
        #expect(world.waits.count < 40, "\(world.waits.count) waits")
    }

    @Test func aDamagedKeystoreIsNotMistakenForFirstBoot() throws {
        var (daemon, world) = try makeDaemon(stopAfter: 1)
        daemon.run()
        #expect(world.responder.pkiOperations == ["19"])
        // Damage the only generation's certificate: nothing to fall back to.
        let current = try #require(try daemon.keystore.load()).generation
        try Data("garbage".utf8).write(to: URL(fileURLWithPath: daemon.keystore.path + "/\(current)/cert.pem"))
        world.stopAt = world.time + 3600
        daemon.run()
        #expect(world.responder.pkiOperations == ["19"], "no new enrollment over a damaged keystore")
        #expect(daemon.keystore.readState()["last_error"]?.contains("truncated or corrupt") == true)
    }

    @Test func terminateDuringTheWaitStopsWithoutTouchingAnything() throws {
        var (daemon, world) = try makeDaemon(stopAfter: 1)
        daemon.run()
        let identity = try #require(try daemon.keystore.load())
        world.stopAt = world.time + 86_400 * 10
        world.signals = [.terminate]
        daemon.run()
        #expect(try daemon.keystore.load()?.certificate == identity.certificate)
        #expect(world.responder.pkiOperations == ["19"])
    }
}

@Suite struct ScheduleTests {
    @Test func dueTimesAndJitter() {
        let percent = RenewalSchedule(threshold: .percentOfLifetime(33))
        #expect(percent.dueTime(notBefore: 0, notAfter: 300) == 201)
        #expect(percent.window(notBefore: 0, notAfter: 300) == 99)
        let before = RenewalSchedule(threshold: .before(seconds: 14 * 86_400))
        #expect(before.dueTime(notBefore: 0, notAfter: 365 * 86_400) == 351 * 86_400)
        #expect(before.dueTime(notBefore: 0, notAfter: 86_400) == 0, "never before not-before")
        var times: Set<Int64> = []
        for seed in 0..<200 as Range<UInt64> {
            let time = percent.jitteredTime(notBefore: 0, notAfter: 1_000_000, seed: seed &* 0x9e3779b97f4a7c15)
            #expect(time >= 670_000 && time < 670_000 + 33_000)
            times.insert(time)
        }
        #expect(times.count > 150, "jitter spreads devices")
        #expect(percent.jitteredTime(notBefore: 0, notAfter: 1_000_000, seed: 7) == percent.jitteredTime(notBefore: 0, notAfter: 1_000_000, seed: 7))
    }

    @Test func backoffDoublesToItsCapWithinTheUpperHalf() {
        var backoff = Backoff(minimum: 60, maximum: 6 * 3600)
        var ceilings: [Int64] = []
        for _ in 0..<12 {
            let delay = backoff.failed(randomUnit: 0.5)
            ceilings.append(backoff.ceiling)
            #expect(delay >= backoff.ceiling / 2 && delay <= backoff.ceiling)
        }
        #expect(ceilings.prefix(4) == [60, 120, 240, 480])
        #expect(ceilings.last == Int64(6 * 3600))
        backoff.succeeded()
        #expect(backoff.failures == 0 && backoff.ceiling == 0)
        // Ten days of validity left: no retry sooner than 2.4 hours (half a fiftieth).
        let relaxed = backoff.failed(randomUnit: 0, remainingValidity: 10 * 86_400)
        #expect(relaxed == 10 * 86_400 / 50 / 2)
        #expect(backoff.failed(randomUnit: 0.999, remainingValidity: 365 * 86_400) <= 6 * 3600)
    }
}

@Suite struct MonitoringTests {
    @Test func metricsFollowEveryAttempt() throws {
        var (daemon, world) = try makeDaemon(stopAfter: 1)
        daemon.run()
        let identity = try #require(try daemon.keystore.load())
        let first = try #require(world.metrics.last)
        #expect(first.notAfter == identity.certificate.notAfter)
        #expect(first.consecutiveFailures == 0 && first.lastSuccess == first.lastAttempt && first.pendingSince == nil)
        #expect(first.textfile.contains("scep_agent_certificate_not_after_seconds \(identity.certificate.notAfter)\n"))
        // The server goes down at the renewal: each failed attempt counts, the last success stays.
        world.serverDown = true
        world.stopAt = world.time + 86_400
        daemon.run()
        let failing = try #require(world.metrics.last)
        #expect(failing.consecutiveFailures >= 2)
        #expect(failing.lastSuccess == first.lastSuccess)
        #expect(failing.textfile.contains("scep_agent_consecutive_failures \(failing.consecutiveFailures)\n"))
    }

    @Test func pendingIsReportedWithItsStart() throws {
        var (daemon, world) = try makeDaemon(fault: .pendingForever, stopAfter: 120)
        daemon.run()
        let last = try #require(world.metrics.last)
        let pending = try #require(daemon.authority.pending)
        #expect(last.pendingSince == pending.record.since)
    }

    /// A one-time challenge that was refused: status says a new one is needed, and the daemon
    /// does not resend it faster than its backoff.
    @Test func aRefusedChallengeIsReportedAndBackedOffFrom() throws {
        var (daemon, world) = try makeDaemon(fault: .failureBadRequest, stopAfter: 3600)
        daemon.run()
        #expect(daemon.keystore.readState()["challenge"]?.contains("refused") == true)
        let attempts = world.responder.pkiOperations.count
        #expect(attempts >= 2 && attempts <= 8, "\(attempts) PKCSReqs in an hour")
    }
}
