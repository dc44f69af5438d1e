// scep-fleet-sim: the renewal load a fleet puts on a SCEP server, from the agent's own scheduling
// code (RenewalSchedule for due times and jitter, Backoff for retries), with a simulated clock.
//
// 100,000 devices enrolled within the same hour with 30-day certificates renew at 33% of their
// lifetime remaining. Three runs: without jitter, with jitter, and with jitter across a one-day
// server outage that starts when renewals begin. Prints a Markdown table of requests per minute.
import Agent
import Foundation

let devices = Int(ProcessInfo.processInfo.environment["FLEET_DEVICES"] ?? "") ?? 100_000
let lifetime: Int64 = 30 * 86_400
let schedule = RenewalSchedule(threshold: .percentOfLifetime(33))

/// A small deterministic generator, so runs are reproducible.
struct SplitMix {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9e3779b97f4a7c15
        var z = state
        z = (z ^ (z >> 30)) &* 0xbf58476d1ce4e5b9
        z = (z ^ (z >> 27)) &* 0x94d049bb133111eb
        return z ^ (z >> 31)
    }
    mutating func unit() -> Double { Double(next() >> 11) / Double(1 << 53) }
}

struct Result {
    let name: String
    let requests: Int
    let peak: Int
    let mean: Double
    let spanMinutes: Int
}

/// Simulates every device's attempts; returns requests per minute over the busy period.
func simulate(_ name: String, jitter: Bool, outage: ClosedRange<Int64>?) -> Result {
    var random = SplitMix(state: 42)
    var perMinute: [Int64: Int] = [:]
    var requests = 0
    for _ in 0..<devices {
        let notBefore = Int64(random.unit() * 3600)
        let notAfter = notBefore + lifetime
        let seed = random.next()
        var attempt = jitter ? schedule.jitteredTime(notBefore: notBefore, notAfter: notAfter, seed: seed)
                             : schedule.dueTime(notBefore: notBefore, notAfter: notAfter)
        var backoff = Backoff(minimum: 60, maximum: 6 * 3600)
        while true {
            perMinute[attempt / 60, default: 0] += 1
            requests += 1
            guard let outage, outage.contains(attempt) else { break }
            attempt += backoff.failed(randomUnit: random.unit(), remainingValidity: max(0, notAfter - attempt))
        }
    }
    // The busy period: from the first minute with load to the last.
    let minutes = perMinute.keys.sorted()
    let busy = minutes.last! - minutes.first! + 1
    let mean = Double(requests) / Double(busy)
    // After an outage, what matters is the load once the server is back.
    var peak = perMinute.values.max() ?? 0
    var recoveryMean = mean
    if let outage {
        let after = perMinute.filter { $0.key * 60 > outage.upperBound }
        peak = after.values.max() ?? 0
        let afterMinutes = after.keys.sorted()
        if let first = afterMinutes.first, let last = afterMinutes.last {
            recoveryMean = Double(after.values.reduce(0, +)) / Double(last - first + 1)
        }
        return Result(name: name, requests: requests, peak: peak, mean: recoveryMean, spanMinutes: Int(afterMinutes.count))
    }
    return Result(name: name, requests: requests, peak: peak, mean: mean, spanMinutes: Int(busy))
}

let renewalStart = schedule.dueTime(notBefore: 0, notAfter: lifetime)
let results = [
    simulate("no jitter", jitter: false, outage: nil),
    simulate("jitter (a tenth of the window)", jitter: true, outage: nil),
    simulate("jitter, server down for the first day of renewals", jitter: true, outage: renewalStart...(renewalStart + 86_400)),
]
print("| fleet of \(devices), enrolled within one hour, 30-day certificates | requests | busy minutes | peak / minute | mean / minute | peak / mean |")
print("|---|---|---|---|---|---|")
for result in results {
    print("| \(result.name) | \(result.requests) | \(result.spanMinutes) | \(result.peak) | \(String(format: "%.1f", result.mean)) | \(String(format: "%.2f", Double(result.peak) / result.mean)) |")
}
print("")
print("Jitter lowers the peak from \(results[0].peak) to \(results[1].peak) requests a minute "
      + "(\(String(format: "%.1f", Double(results[0].peak) / Double(results[1].peak)))x); after the outage the peak is "
      + "\(String(format: "%.2f", Double(results[2].peak) / results[2].mean))x the mean load of the recovery.")
