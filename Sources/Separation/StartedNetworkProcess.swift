import Agent
import Platform

/// A network process started before its job: a fresh image of the agent that holds nothing of
/// the key process's, waiting on its channel for a job.
///
/// A one-shot command starts it before it reads the challenge or opens the keystore, so that
/// the exec and the start-up of the second process overlap the key process's own (on the
/// loopback renewal `make separation-cost` times, a millisecond or two of the few the second
/// process costs). One that never gets a job is ended when this is released; should the key
/// process die instead, its channel's end (and PR_SET_PDEATHSIG) ends it.
public final class StartedNetworkProcess {
    private var parts: (channel: Channel, child: ChildProcess)?

    public init() throws(AgentFailure) {
        parts = try StartedNetworkProcess.spawn()
    }

    /// A new network process and this process's end of its channel.
    static func spawn() throws(AgentFailure) -> (channel: Channel, child: ChildProcess) {
        do {
            let (mine, theirs) = try Channel.pair()
            let child = try ChildProcess.spawnSelf(role: NetworkProcess.role, channel: theirs)
            // `theirs` closes as it goes out of scope: only the child holds it now, so the
            // child's death reads as the end of the channel.
            return (mine, child)
        } catch {
            throw AgentFailure(.failed, .system(error))
        }
    }

    /// The process for one job, once; nil after that.
    func take() -> (channel: Channel, child: ChildProcess)? {
        defer { parts = nil }
        return parts
    }

    deinit {
        guard let (channel, child) = parts else { return }
        // Its channel's end makes it exit by itself (no job): given a moment, it does, which
        // under the memory suite's valgrind lets it write its report; killed if it does not.
        channel.closeNow()
        KeyServer.reap(child, channel: nil, grace: 1_000)
    }
}
