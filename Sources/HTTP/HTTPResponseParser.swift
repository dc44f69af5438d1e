import Encoding

/// An HTTP/1.1 response.
public struct HTTPResponse: Equatable {
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

public struct HTTPHeader: Equatable {
    public let name: String
    public let value: String
}

/// Parses a complete HTTP/1.1 response from the bytes received so far.
///
/// Pure and bounded: headers are limited to `maximumHeaderSize`, the body (after de-chunking) to
/// `maximumBodySize`, and every number is range-checked, so a hostile server gets an error, not
/// memory. Call again with more bytes while it answers `nil`.
public struct HTTPResponseParser: Sendable {
    public let maximumBodySize: Int
    public let maximumHeaderSize: Int

    public init(maximumBodySize: Int, maximumHeaderSize: Int = 16 * 1024) {
        self.maximumBodySize = maximumBodySize
        self.maximumHeaderSize = maximumHeaderSize
    }

    /// The response, or nil when more bytes are needed. `atEnd` says the peer closed the
    /// connection, which completes a body framed by the connection's end.
    public func parse(_ buffer: [UInt8], atEnd: Bool) throws(HTTPError) -> HTTPResponse? {
        var start = 0
        while true {
            guard let headEnd = HTTPResponseParser.endOfHead(buffer, from: start) else {
                if buffer.count - start > maximumHeaderSize { throw .malformed("headers larger than \(maximumHeaderSize) bytes") }
                if atEnd { throw .closedEarly }
                return nil
            }
            guard headEnd.bodyStart - start <= maximumHeaderSize else { throw .malformed("headers larger than \(maximumHeaderSize) bytes") }
            let (status, headers, persistent) = try HTTPResponseParser.head(buffer[start..<headEnd.headEnd])
            // 1xx responses are interim (100 Continue); the real one follows.
            if status >= 100 && status < 200 {
                start = headEnd.bodyStart
                continue
            }
            let body = buffer[headEnd.bodyStart...]
            if status == 204 || status == 304 {
                return HTTPResponse(status: status, headers: headers, body: [], connectionReusable: persistent && body.isEmpty && !atEnd)
            }
            guard let decoded = try framedBody(body, headers: headers, atEnd: atEnd) else { return nil }
            return HTTPResponse(status: status, headers: headers, body: decoded.bytes,
                                connectionReusable: persistent && decoded.exact && !atEnd)
        }
    }

    /// The body, and whether its framing (length or chunks) ended exactly at the buffer's end;
    /// a body that runs to the connection's end is never exact.
    private func framedBody(_ body: ArraySlice<UInt8>, headers: [HTTPHeader], atEnd: Bool) throws(HTTPError) -> (bytes: [UInt8], exact: Bool)? {
        let transferEncoding = headers.filter { $0.name.equalsIgnoringASCIICase("transfer-encoding") }.map { $0.value.asciiLowercased }
        if let last = transferEncoding.last {
            guard last.hasSuffix("chunked") else { throw .malformed("unsupported Transfer-Encoding '\(last)'") }
            return try dechunk(body, atEnd: atEnd)
        }
        let lengths = headers.filter { $0.name.equalsIgnoringASCIICase("content-length") }.map { $0.value }
        if let first = lengths.first {
            guard lengths.allSatisfy({ $0 == first }), let length = HTTPResponseParser.decimal(first) else {
                throw .malformed("invalid Content-Length")
            }
            guard length <= maximumBodySize else { throw .tooLarge(limit: maximumBodySize) }
            if body.count >= length { return (Array(body.prefix(length)), body.count == length) }
            if atEnd { throw .closedEarly }
            return nil
        }
        guard body.count <= maximumBodySize else { throw .tooLarge(limit: maximumBodySize) }
        return atEnd ? (Array(body), false) : nil
    }

    /// Chunked transfer coding (RFC 9112 section 7.1); extensions and trailers are ignored.
    private func dechunk(_ body: ArraySlice<UInt8>, atEnd: Bool) throws(HTTPError) -> (bytes: [UInt8], exact: Bool)? {
        var output: [UInt8] = []
        var cursor = body.startIndex
        while true {
            guard let lineEnd = HTTPResponseParser.lineEnd(body, from: cursor) else {
                if atEnd { throw .closedEarly }
                return nil
            }
            var sizeText = body[cursor..<lineEnd.contentEnd]
            if let semicolon = sizeText.firstIndex(of: UInt8(ascii: ";")) { sizeText = sizeText[..<semicolon] }
            while let last = sizeText.last, last == 0x20 || last == 0x09 { sizeText = sizeText.dropLast() }
            guard !sizeText.isEmpty, sizeText.count <= 8 else { throw .malformed("invalid chunk size") }
            var size = 0
            for digit in sizeText {
                guard let value = HTTPResponseParser.hexValue(digit) else { throw .malformed("invalid chunk size") }
                size = size * 16 + value
            }
            cursor = lineEnd.next
            if size == 0 {
                // Trailers, then an empty line.
                while true {
                    guard let trailer = HTTPResponseParser.lineEnd(body, from: cursor) else {
                        if atEnd { return (output, false) }
                        return nil
                    }
                    cursor = trailer.next
                    if trailer.contentEnd == trailer.start { return (output, cursor == body.endIndex) }
                }
            }
            guard output.count + size <= maximumBodySize else { throw .tooLarge(limit: maximumBodySize) }
            guard body.endIndex - cursor >= size else {
                if atEnd { throw .closedEarly }
                return nil
            }
            output.append(contentsOf: body[cursor..<(cursor + size)])
            cursor += size
            guard let after = HTTPResponseParser.lineEnd(body, from: cursor) else {
                if atEnd { throw .closedEarly }
                return nil
            }
            guard after.contentEnd == cursor else { throw .malformed("chunk longer than its size") }
            cursor = after.next
        }
    }

    // MARK: Head

    /// Status, headers, and whether the connection persists after this response (RFC 9112
    /// section 9.3: HTTP/1.1 without a `close` connection option).
    static func head(_ bytes: ArraySlice<UInt8>) throws(HTTPError) -> (Int, [HTTPHeader], Bool) {
        var lines: [ArraySlice<UInt8>] = []
        var cursor = bytes.startIndex
        while cursor < bytes.endIndex, let line = lineEnd(bytes, from: cursor) {
            lines.append(bytes[cursor..<line.contentEnd])
            cursor = line.next
        }
        if cursor < bytes.endIndex { lines.append(bytes[cursor...]) }
        guard let statusLine = lines.first else { throw .malformed("empty response") }
        let parts = statusLine.split(separator: 0x20, maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count >= 2, parts[0].starts(with: Array("HTTP/1.".utf8)), parts[1].count == 3,
              let status = decimal(String(decoding: parts[1], as: UTF8.self)), status >= 100 else {
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
            for option in header.value.split(separator: ",") where option.trimmingASCIIWhitespace.equalsIgnoringASCIICase("close") {
                persistent = false
            }
        }
        return (status, headers, persistent)
    }

    /// Where the head ends: at CRLFCRLF, or LFLF from lenient servers.
    static func endOfHead(_ buffer: [UInt8], from start: Int) -> (headEnd: Int, bodyStart: Int)? {
        var index = start
        while index < buffer.count {
            if buffer[index] == 0x0a {
                if index + 1 < buffer.count && buffer[index + 1] == 0x0a { return (index, index + 2) }
                if index + 2 < buffer.count && buffer[index + 1] == 0x0d && buffer[index + 2] == 0x0a { return (index - (index > start && buffer[index - 1] == 0x0d ? 1 : 0), index + 3) }
            }
            index += 1
        }
        return nil
    }

    static func lineEnd(_ bytes: ArraySlice<UInt8>, from start: Int) -> (start: Int, contentEnd: Int, next: Int)? {
        guard let newline = bytes[start...].firstIndex(of: 0x0a) else { return nil }
        let contentEnd = newline > start && bytes[newline - 1] == 0x0d ? newline - 1 : newline
        return (start, contentEnd, newline + 1)
    }

    static func decimal(_ text: String) -> Int? {
        let bytes = Array(text.utf8)
        guard !bytes.isEmpty, bytes.count <= 12, bytes.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return nil }
        var value = 0
        for byte in bytes { value = value * 10 + Int(byte - 0x30) }
        return value
    }

    static func hexValue(_ byte: UInt8) -> Int? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): Int(byte - UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): Int(byte - UInt8(ascii: "a")) + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): Int(byte - UInt8(ascii: "A")) + 10
        default: nil
        }
    }
}
