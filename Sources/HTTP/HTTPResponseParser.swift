import Encoding

/// An HTTP/1.1 response.
public struct HTTPResponse: Equatable, Sendable {
    public let status: Int
    public let headers: [HTTPHeader]
    public let body: [UInt8]
    /// The connection may carry another request: HTTP/1.1, no `Connection: close`, and a body
    /// whose framing ended exactly where the received bytes end.
    public var connectionReusable = false

    /// The first header named `name` (case-insensitive).
    public func header(_ name: String) -> String? {
        return headers.first { $0.name.equalsIgnoringASCIICase(name) }?.value
    }
}

public struct HTTPHeader: Equatable, Sendable {
    public let name: String
    public let value: String
}

/// Parses an HTTP/1.1 response incrementally, as its bytes arrive.
///
/// Every byte is looked at a bounded number of times, so the work is linear in what the server
/// sends however it slices it (a server dripping one byte per packet costs no more than one that
/// sends it at once). Bounded: the head to `maximumHeaderSize`, the body (after de-chunking) to
/// `maximumBodySize`, and every number from the server (Content-Length, chunk sizes, the status)
/// is parsed with checked arithmetic against those limits, so a hostile server gets an error,
/// not memory, and not a trap on a 32-bit device.
public struct HTTPResponseParser: Sendable {
    public let maximumBodySize: Int
    public let maximumHeaderSize: Int

    private enum State: Sendable {
        /// Collecting the head; `scanned` bytes of it are known not to end it.
        case head(scanned: Int)
        case fixedLength(remaining: Int)
        case chunkSize
        case chunkData(remaining: Int)
        case chunkDataEnd
        case trailers
        case untilClose
        case done
    }

    private var state = State.head(scanned: 0)
    /// The head being collected, or the current chunk-size or trailer line.
    private var line: [UInt8] = []
    private var body: [UInt8] = []
    private var status = 0
    private var headers: [HTTPHeader] = []
    private var persistent = false
    /// Bytes the server sent beyond the response: the connection cannot carry another request.
    private var surplus = false

    public init(maximumBodySize: Int, maximumHeaderSize: Int = 16 * 1024) {
        self.maximumBodySize = maximumBodySize
        self.maximumHeaderSize = maximumHeaderSize
    }

    /// Takes the next bytes received; returns the response once it is complete. Bytes after a
    /// complete response mark the connection as not reusable.
    public mutating func feed<Bytes: Collection>(_ bytes: Bytes) throws(HTTPError) -> HTTPResponse?
    where Bytes.Element == UInt8, Bytes.Index == Int {
        var index = bytes.startIndex
        while index < bytes.endIndex {
            switch state {
            case .done:
                surplus = true
                index = bytes.endIndex
            case .head(let scanned):
                let byte = bytes[index]
                index += 1
                line.append(byte)
                guard line.count <= maximumHeaderSize else { throw .malformed("headers larger than \(maximumHeaderSize) bytes") }
                guard byte == 0x0a, HTTPResponseParser.endsHead(line, after: scanned) else {
                    state = .head(scanned: byte == 0x0a ? line.count : scanned)
                    continue
                }
                try finishHead()
            case .fixedLength(let remaining):
                let take = min(remaining, bytes.endIndex - index)
                body.append(contentsOf: bytes[index..<(index + take)])
                index += take
                state = remaining == take ? .done : .fixedLength(remaining: remaining - take)
            case .chunkSize, .trailers:
                let byte = bytes[index]
                index += 1
                if byte != 0x0a {
                    line.append(byte)
                    guard line.count <= 1024 else { throw .malformed("chunk line too long") }
                    continue
                }
                if line.last == 0x0d { line.removeLast() }
                if case .trailers = state {
                    if line.isEmpty { state = .done }
                } else {
                    try takeChunkSize()
                }
                line.removeAll(keepingCapacity: true)
            case .chunkData(let remaining):
                let take = min(remaining, bytes.endIndex - index)
                body.append(contentsOf: bytes[index..<(index + take)])
                index += take
                state = remaining == take ? .chunkDataEnd : .chunkData(remaining: remaining - take)
            case .chunkDataEnd:
                let byte = bytes[index]
                index += 1
                if byte == 0x0d && line.isEmpty {
                    line.append(byte)
                } else if byte == 0x0a {
                    line.removeAll(keepingCapacity: true)
                    state = .chunkSize
                } else {
                    throw .malformed("chunk longer than its size")
                }
            case .untilClose:
                let take = bytes.endIndex - index
                guard body.count + take <= maximumBodySize else { throw .tooLarge(limit: maximumBodySize) }
                body.append(contentsOf: bytes[index...])
                index = bytes.endIndex
            }
        }
        if case .done = state { return response(reusable: persistent && !surplus) }
        return nil
    }

    /// A whole response from one buffer: what `feed` and `finish` give for `buffer` received at
    /// once, `atEnd` saying whether the peer closed the connection after it.
    public func parse(_ buffer: [UInt8], atEnd: Bool) throws(HTTPError) -> HTTPResponse? {
        var parser = self
        if var response = try parser.feed(buffer) {
            if atEnd { response.connectionReusable = false }
            return response
        }
        return atEnd ? try parser.finish() : nil
    }

    /// The peer closed the connection: the response if it is complete (a body framed by the
    /// connection's end is complete now), else an error.
    public mutating func finish() throws(HTTPError) -> HTTPResponse {
        switch state {
        case .done: return response(reusable: false)
        case .untilClose:
            state = .done
            return response(reusable: false)
        case .trailers:
            // A server that closes after the last chunk without the final empty line.
            state = .done
            return response(reusable: false)
        default:
            throw .closedEarly
        }
    }

    private func response(reusable: Bool) -> HTTPResponse {
        HTTPResponse(status: status, headers: headers, body: body, connectionReusable: reusable)
    }

    /// Whether the head ends with the newline just appended: CRLFCRLF, or LFLF from lenient
    /// servers. `after` is where the previous line ended, so the check looks at one line only.
    static func endsHead(_ head: [UInt8], after previousLineEnd: Int) -> Bool {
        let lineLength = head.count - previousLineEnd
        return previousLineEnd > 0 && (lineLength == 1 || (lineLength == 2 && head[head.count - 2] == 0x0d))
    }

    private mutating func finishHead() throws(HTTPError) {
        let (code, parsedHeaders, keepAlive) = try HTTPResponseParser.head(line[...])
        line.removeAll(keepingCapacity: true)
        // 1xx responses are interim (100 Continue); the real one follows.
        if code >= 100 && code < 200 {
            state = .head(scanned: 0)
            return
        }
        status = code
        headers = parsedHeaders
        persistent = keepAlive
        if code == 204 || code == 304 {
            state = .done
            return
        }
        // Every coding of every Transfer-Encoding field, in order (RFC 9112 section 6.1). Only
        // chunked alone is read: another coding (gzip, say) would hand the CMS parser bytes it
        // cannot read, and a name that merely ends in "chunked" is no coding at all.
        let fields = headers.filter { $0.name.equalsIgnoringASCIICase("transfer-encoding") }
        let codings = fields.flatMap { $0.value.splitUTF8(at: UInt8(ascii: ",")) }
            .map { $0.trimmingASCIIWhitespace }.filter { !$0.isEmpty }
        if !fields.isEmpty {
            guard codings.count == 1, codings[0].equalsIgnoringASCIICase("chunked") else {
                throw .malformed("unsupported Transfer-Encoding '\(codings.joined(separator: ", "))'")
            }
            state = .chunkSize
            return
        }
        let lengths = headers.filter { $0.name.equalsIgnoringASCIICase("content-length") }.map { $0.value }
        if let first = lengths.first {
            guard lengths.allSatisfy({ $0 == first }), first.utf8.count <= 20,
                  let length = Numbers.parse(first.utf8, limit: UInt64.max) else { throw .malformed("invalid Content-Length") }
            guard length <= UInt64(maximumBodySize) else { throw .tooLarge(limit: maximumBodySize) }
            state = length == 0 ? .done : .fixedLength(remaining: Int(length))
            body.reserveCapacity(Int(length))
            return
        }
        state = .untilClose
    }

    /// Chunked transfer coding (RFC 9112 section 7.1); extensions and trailers are ignored.
    private mutating func takeChunkSize() throws(HTTPError) {
        var size = line[...]
        if let semicolon = size.firstIndex(of: UInt8(ascii: ";")) { size = size[..<semicolon] }
        while let last = size.last, last == 0x20 || last == 0x09 { size = size.dropLast() }
        guard size.count <= 16, let value = Numbers.parse(size, radix: 16, limit: UInt64.max) else {
            throw .malformed("invalid chunk size")
        }
        guard value <= UInt64(maximumBodySize - body.count) else { throw .tooLarge(limit: maximumBodySize) }
        state = value == 0 ? .trailers : .chunkData(remaining: Int(value))
    }

    // MARK: Head

    /// Status, headers, and whether the connection persists after this response (RFC 9112
    /// section 9.3: HTTP/1.1 without a `close` connection option).
    static func head(_ bytes: ArraySlice<UInt8>) throws(HTTPError) -> (Int, [HTTPHeader], Bool) {
        var lines: [ArraySlice<UInt8>] = []
        var start = bytes.startIndex
        for index in bytes.indices where bytes[index] == 0x0a {
            let end = index > start && bytes[index - 1] == 0x0d ? index - 1 : index
            if end > start { lines.append(bytes[start..<end]) }
            start = index + 1
        }
        guard let statusLine = lines.first else { throw .malformed("empty response") }
        let parts = statusLine.split(separator: 0x20, maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count >= 2, parts[0].starts(with: Array("HTTP/1.".utf8)), parts[1].count == 3,
              let status = Numbers.parseInt(parts[1], limit: 999), status >= 100 else {
            throw .malformed("invalid status line")
        }
        var headers: [HTTPHeader] = []
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: UInt8(ascii: ":")), colon > line.startIndex else {
                throw .malformed("invalid header line")
            }
            let name = line[line.startIndex..<colon]
            guard name.allSatisfy({ $0 > 0x20 && $0 < 0x7f }) else { throw .malformed("invalid header name") }
            let value = line[(colon + 1)...].drop { $0 == 0x20 || $0 == 0x09 }.reversed().drop { $0 == 0x20 || $0 == 0x09 }.reversed()
            headers.append(HTTPHeader(name: String(decoding: name, as: UTF8.self), value: String(decoding: value, as: UTF8.self)))
            guard headers.count <= 100 else { throw .malformed("too many headers") }
        }
        var persistent = parts[0].elementsEqual(Array("HTTP/1.1".utf8))
        for header in headers where header.name.equalsIgnoringASCIICase("connection") {
            for option in header.value.splitUTF8(at: UInt8(ascii: ",")) where option.trimmingASCIIWhitespace.equalsIgnoringASCIICase("close") {
                persistent = false
            }
        }
        return (status, headers, persistent)
    }
}
