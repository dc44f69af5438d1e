import Platform
import Protocol

/// `caps`: GetCACaps, one keyword per line on standard output.
func capsCommand(_ context: CommandContext) throws(CommandFailure) {
    var client = try context.client()
    let capabilities: Capabilities
    do { capabilities = try client.capabilities() } catch { throw CommandFailure(error) }
    if capabilities.keywords.isEmpty { context.logger.warn("the server announced no capabilities") }
    for keyword in capabilities.keywords { StandardStream.output.writeLine(keyword) }
}
