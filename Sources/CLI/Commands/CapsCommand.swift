import Platform
import Protocol
import Separation

/// `caps`: GetCACaps, one keyword per line on standard output.
func capsCommand(_ context: CommandContext) throws(CommandFailure) {
    guard case .capabilities(let keywords) = try context.runKeyless(.caps) else {
        throw CommandFailure(.failure, "the network process answered with something else than capabilities")
    }
    // Parsed again here: what reaches the terminal is what this process's parser accepts.
    let capabilities = Capabilities(text: Array(keywords.joined(separator: "\n").utf8))
    if capabilities.keywords.isEmpty { context.logger.warn("the server announced no capabilities") }
    for keyword in capabilities.keywords { StandardStream.output.writeLine(keyword) }
}
