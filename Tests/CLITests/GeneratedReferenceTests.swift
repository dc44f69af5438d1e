import Foundation
import Testing
@testable import CLI

/// The option reference in docs/configuration.md and the OPTIONS section of the man page are
/// generated from `OptionTable`, the one place options are declared, so they cannot drift from
/// the parser. Each lies between two marker lines in its file. When a file is stale these tests
/// fail; `make reference` (these tests with SCEP_AGENT_WRITE_REFERENCE=1) rewrites it.
@Suite struct GeneratedReferenceTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static func commandList(_ commands: [Command]) -> String { commands.map(\.rawValue).joined(separator: ", ") }

    /// One row per option: what the config file and the command line accept.
    static func markdownTable() -> String {
        func cell(_ text: String) -> String { text.replacingOccurrences(of: "|", with: "\\|") }
        var lines = ["| key / option | value | default | where | meaning |", "|---|---|---|---|---|"]
        for option in OptionTable.options {
            let value = option.argument.map { "`\($0)`" } ?? "flag"
            let place = option.isConfigKey ? "file, command line" : "`--\(option.name)` with " + commandList(option.commands)
            var meaning = option.help
            if !option.requiredBy.isEmpty { meaning += " (required by " + commandList(option.requiredBy) + ")" }
            lines.append("| `\(option.name)` | \(value) | \(option.defaultText.map { "`\($0)`" } ?? "—") | \(place) | \(cell(meaning)) |")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// The same rows as man(7) paragraphs.
    static func manOptions() -> String {
        func roff(_ text: String) -> String {
            let escaped = text.replacingOccurrences(of: "\\", with: "\\e").replacingOccurrences(of: "-", with: "\\-")
            return escaped.hasPrefix(".") || escaped.hasPrefix("'") ? "\\&" + escaped : escaped
        }
        var lines: [String] = []
        for option in OptionTable.options {
            lines.append(".TP")
            lines.append("\\fB\\-\\-\(roff(option.name))\\fR" + (option.argument.map { " \\fI\(roff($0))\\fR" } ?? ""))
            var text = option.help
            if let defaultText = option.defaultText { text += "; default \(defaultText)" }
            if !option.isConfigKey { text += " (" + commandList(option.commands) + " only)" }
            if !option.requiredBy.isEmpty { text += "; required by " + commandList(option.requiredBy) }
            lines.append(roff(text) + ".")
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// Checks (or, with SCEP_AGENT_WRITE_REFERENCE=1, rewrites) what lies between `begin` and
    /// `end` in `path`.
    static func check(_ path: String, begin: String, end: String, generated: String) throws {
        let url = root.appendingPathComponent(path)
        let text = try String(contentsOf: url, encoding: .utf8)
        guard let start = text.range(of: begin + "\n"), let stop = text.range(of: end, range: start.upperBound..<text.endIndex) else {
            Issue.record("\(path) lacks the markers \(begin) ... \(end)")
            return
        }
        let current = String(text[start.upperBound..<stop.lowerBound])
        if ProcessInfo.processInfo.environment["SCEP_AGENT_WRITE_REFERENCE"] == "1" {
            if current != generated {
                try (String(text[..<start.upperBound]) + generated + String(text[stop.lowerBound...])).write(to: url, atomically: true, encoding: .utf8)
            }
            return
        }
        #expect(current == generated, "\(path) is stale: run `make reference`")
    }

    @Test func configurationReferenceIsGeneratedFromTheOptionTable() throws {
        try Self.check("docs/configuration.md", begin: "<!-- BEGIN GENERATED from OptionTable by `make reference` -->",
                       end: "<!-- END GENERATED -->", generated: Self.markdownTable())
    }

    @Test func manPageOptionsAreGeneratedFromTheOptionTable() throws {
        try Self.check("Packaging/man/scep-agent.8", begin: ".\\\" BEGIN GENERATED from OptionTable by `make reference`",
                       end: ".\\\" END GENERATED", generated: Self.manOptions())
    }
}
