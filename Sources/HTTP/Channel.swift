import Crypto
import Platform

/// The byte stream under HTTP: a plain TCP connection, or TLS over one.
enum Channel {
    case plain(TCPConnection)
    #if !SCEP_NO_TLS
    case tls(TLSSession, TCPConnection)
    #endif

    /// Whether this build can speak https:// (the tiny build cannot).
    static var supportsTLS: Bool {
        #if SCEP_NO_TLS
        false
        #else
        true
        #endif
    }

    static func open(_ connection: TCPConnection, url: ServerURL, trust: [UInt8]?, deadline: Int64) throws(HTTPError) -> Channel {
        guard url.scheme == .https else { return .plain(connection) }
        #if SCEP_NO_TLS
        throw .tlsUnavailable
        #else
        guard let trust else { throw .tlsWithoutTrust }
        let io = TLSTransportIO(
            send: { bytes in
                do throws(SystemError) {
                    try connection.send(bytes, deadline: deadline)
                    return bytes.count
                } catch {
                    return error.isTimeout ? TLSTransportIO.timedOut : TLSTransportIO.failed
                }
            },
            receive: { buffer in
                do throws(SystemError) {
                    return try connection.receive(into: buffer, deadline: deadline)
                } catch {
                    return error.isTimeout ? TLSTransportIO.timedOut : TLSTransportIO.failed
                }
            })
        do {
            let session = try TLSSession(trustedCAs: trust, serverName: url.host, io: io)
            try session.handshake()
            return .tls(session, connection)
        } catch {
            throw .tls(error)
        }
        #endif
    }

    func send(_ bytes: [UInt8], deadline: Int64) throws(HTTPError) {
        switch self {
        case .plain(let connection):
            do { try connection.send(bytes, deadline: deadline) } catch { throw .system(error) }
        #if !SCEP_NO_TLS
        case .tls(let session, _):
            do { try session.write(bytes) } catch { throw .tls(error) }
        #endif
        }
    }

    func receive(into buffer: inout [UInt8], deadline: Int64) throws(HTTPError) -> Int {
        switch self {
        case .plain(let connection):
            do {
                // Through the typed buffer: withUnsafeMutableBytes is not typed-throws.
                return try buffer.withUnsafeMutableBufferPointer { (typed) throws(SystemError) in
                    try connection.receive(into: UnsafeMutableRawBufferPointer(typed), deadline: deadline)
                }
            } catch {
                throw .system(error)
            }
        #if !SCEP_NO_TLS
        case .tls(let session, _):
            do { return try session.read(into: &buffer) } catch { throw .tls(error) }
        #endif
        }
    }

    mutating func close() {
        #if !SCEP_NO_TLS
        if case .tls(let session, _) = self { session.closeNotify() }
        #endif
    }
}
