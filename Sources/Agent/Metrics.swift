/// What the daemon reports for monitoring after each attempt (`--metrics-file`): the Prometheus
/// node-exporter textfile format, one gauge per fact, times as Unix seconds.
public struct AgentMetrics: Equatable, Sendable {
    /// The identity in service's not-after; nil without one.
    public var notAfter: Int64?
    public var lastAttempt: Int64?
    public var lastSuccess: Int64?
    public var consecutiveFailures: Int
    /// When the server first answered PENDING to the transaction still waiting; nil when none.
    public var pendingSince: Int64?

    public init(notAfter: Int64?, lastAttempt: Int64?, lastSuccess: Int64?, consecutiveFailures: Int, pendingSince: Int64?) {
        self.notAfter = notAfter
        self.lastAttempt = lastAttempt
        self.lastSuccess = lastSuccess
        self.consecutiveFailures = consecutiveFailures
        self.pendingSince = pendingSince
    }

    /// The file's text. A fact that does not apply is 0, so every gauge is always present and an
    /// alert rule need not handle a missing series.
    public var textfile: String {
        var text = ""
        func gauge(_ name: String, _ help: String, _ value: Int64) {
            text += "# HELP scep_agent_\(name) \(help)\n# TYPE scep_agent_\(name) gauge\nscep_agent_\(name) \(value)\n"
        }
        gauge("certificate_not_after_seconds", "Not-after of the certificate in service (0: none).", notAfter ?? 0)
        gauge("last_attempt_timestamp_seconds", "When the agent last talked to the SCEP server (0: never).", lastAttempt ?? 0)
        gauge("last_success_timestamp_seconds", "When a certificate was last committed (0: never).", lastSuccess ?? 0)
        gauge("consecutive_failures", "Failed attempts since the last success.", Int64(consecutiveFailures))
        gauge("pending_since_timestamp_seconds", "When the server first answered PENDING to the waiting request (0: none).",
              pendingSince ?? 0)
        return text
    }
}
