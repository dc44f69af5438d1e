// The tiny build (-DSCEP_NO_TLS, Board/profiles/openwrt-x86_64-tiny.conf) is linked against an
// mbedTLS without TLS, so this file is left out there; HTTP refuses https:// URLs instead.
#if !SCEP_NO_TLS
import CMbedTLS

/// The byte transport under a TLS session, supplied by the layer that owns the socket. Each
/// function returns a byte count, or one of the negative codes below.
public final class TLSTransportIO {
    public static let timedOut = -1
    public static let failed = -2

    let send: (UnsafeRawBufferPointer) -> Int
    let receive: (UnsafeMutableRawBufferPointer) -> Int

    public init(send: @escaping (UnsafeRawBufferPointer) -> Int, receive: @escaping (UnsafeMutableRawBufferPointer) -> Int) {
        self.send = send
        self.receive = receive
    }
}

/// A TLS client session (TLS 1.2, mbedTLS defaults) that verifies the server's certificate
/// against the configured CAs and its name (SNI is sent). Nothing is sent before verification.
public final class TLSSession {
    private let ssl: UnsafeMutablePointer<mbedtls_ssl_context>
    private let config: UnsafeMutablePointer<mbedtls_ssl_config>
    private let trusted: UnsafeMutablePointer<mbedtls_x509_crt>
    private let random: RandomGenerator
    private let io: TLSTransportIO

    public init(trustedCAs pem: [UInt8], serverName: String, io: TLSTransportIO) throws(CryptoError) {
        // First, before anything is allocated: a throw here has nothing to free.
        random = try RandomGenerator()
        ssl = .allocate(capacity: 1)
        config = .allocate(capacity: 1)
        trusted = .allocate(capacity: 1)
        mbedtls_ssl_init(ssl)
        mbedtls_ssl_config_init(config)
        mbedtls_x509_crt_init(trusted)
        self.io = io
        // Every stored property is set: from here a throw runs deinit, which frees the above.

        // PEM must be NUL-terminated, with the NUL counted.
        let terminated = pem + [0]
        let parsed = terminated.withUnsafeBufferPointer { mbedtls_x509_crt_parse(trusted, $0.baseAddress, $0.count) }
        guard parsed >= 0 else { throw CryptoError(.tls(.trustBundle), code: parsed) }
        guard trusted.pointee.version != 0 else { throw CryptoError(.tls(.emptyTrustBundle)) }

        try check(.tls(.configure), mbedtls_ssl_config_defaults(config, MBEDTLS_SSL_IS_CLIENT, MBEDTLS_SSL_TRANSPORT_STREAM,
                                                                   MBEDTLS_SSL_PRESET_DEFAULT))
        mbedtls_ssl_conf_authmode(config, MBEDTLS_SSL_VERIFY_REQUIRED)
        mbedtls_ssl_conf_ca_chain(config, trusted, nil)
        mbedtls_ssl_conf_rng(config, mbedtls_ctr_drbg_random, random.context)
        mbedtls_ssl_conf_min_version(config, MBEDTLS_SSL_MAJOR_VERSION_3, MBEDTLS_SSL_MINOR_VERSION_3)
        try check(.tls(.setup), mbedtls_ssl_setup(ssl, config))
        // The name is checked against the certificate's subjectAltName/CN. IP literals are matched
        // the same way, as mbedTLS 2.28 has no iPAddress SAN support: such servers need the
        // address as a DNS name or CN in their certificate.
        try check(.tls(.serverName), mbedtls_ssl_set_hostname(ssl, serverName))
        mbedtls_ssl_set_bio(ssl, Unmanaged.passUnretained(io).toOpaque(), tlsSend, tlsReceive, nil)
    }

    deinit {
        mbedtls_ssl_free(ssl)
        mbedtls_ssl_config_free(config)
        mbedtls_x509_crt_free(trusted)
        ssl.deallocate()
        config.deallocate()
        trusted.deallocate()
    }

    public func handshake() throws(CryptoError) {
        while true {
            let result = mbedtls_ssl_handshake(ssl)
            if result == 0 { return }
            if result == scep_mbedtls_err_ssl_want_read() || result == scep_mbedtls_err_ssl_want_write() { continue }
            let flags = mbedtls_ssl_get_verify_result(ssl)
            if flags != 0 && flags != UInt32.max {
                throw CryptoError(.tlsNotTrusted(TLSSession.describe(flags)))
            }
            throw CryptoError(.tls(.handshake), code: result)
        }
    }

    public func write(_ bytes: [UInt8]) throws(CryptoError) {
        var offset = 0
        while offset < bytes.count {
            let result = bytes.withUnsafeBufferPointer { mbedtls_ssl_write(ssl, $0.baseAddress! + offset, $0.count - offset) }
            if result == scep_mbedtls_err_ssl_want_read() || result == scep_mbedtls_err_ssl_want_write() { continue }
            guard result > 0 else { throw CryptoError(.tls(.write), code: result) }
            offset += Int(result)
        }
    }

    /// Reads into `buffer`; 0 means the server closed the session.
    public func read(into buffer: inout [UInt8]) throws(CryptoError) -> Int {
        while true {
            let result = buffer.withUnsafeMutableBufferPointer { mbedtls_ssl_read(ssl, $0.baseAddress, $0.count) }
            if result > 0 { return Int(result) }
            if result == 0 || result == scep_mbedtls_err_ssl_peer_close_notify() { return 0 }
            if result == scep_mbedtls_err_ssl_want_read() || result == scep_mbedtls_err_ssl_want_write() { continue }
            throw CryptoError(.tls(result == scep_mbedtls_err_ssl_timeout() ? .readTimedOut : .read), code: result)
        }
    }

    public func closeNotify() {
        _ = mbedtls_ssl_close_notify(ssl)
    }

    static func describe(_ flags: UInt32) -> String {
        var reasons: [String] = []
        if flags & UInt32(MBEDTLS_X509_BADCERT_EXPIRED) != 0 { reasons.append("expired") }
        if flags & UInt32(MBEDTLS_X509_BADCERT_FUTURE) != 0 { reasons.append("not yet valid") }
        if flags & UInt32(MBEDTLS_X509_BADCERT_CN_MISMATCH) != 0 { reasons.append("name mismatch") }
        if flags & UInt32(MBEDTLS_X509_BADCERT_NOT_TRUSTED) != 0 { reasons.append("not signed by a trusted CA") }
        if flags & UInt32(MBEDTLS_X509_BADCERT_REVOKED) != 0 { reasons.append("revoked") }
        return reasons.isEmpty ? "verification flags 0x" + hex(flags) : reasons.joined(separator: ", ")
    }
}

private func tlsSend(_ context: UnsafeMutableRawPointer?, _ bytes: UnsafePointer<UInt8>?, _ count: Int) -> Int32 {
    guard let context else { return scep_mbedtls_err_net_send_failed() }
    let io = Unmanaged<TLSTransportIO>.fromOpaque(context).takeUnretainedValue()
    let result = io.send(UnsafeRawBufferPointer(start: bytes, count: count))
    if result >= 0 { return Int32(result) }
    return result == TLSTransportIO.timedOut ? scep_mbedtls_err_ssl_timeout() : scep_mbedtls_err_net_send_failed()
}

private func tlsReceive(_ context: UnsafeMutableRawPointer?, _ bytes: UnsafeMutablePointer<UInt8>?, _ count: Int) -> Int32 {
    guard let context else { return scep_mbedtls_err_net_recv_failed() }
    let io = Unmanaged<TLSTransportIO>.fromOpaque(context).takeUnretainedValue()
    let result = io.receive(UnsafeMutableRawBufferPointer(start: bytes, count: count))
    if result >= 0 { return Int32(result) }
    return result == TLSTransportIO.timedOut ? scep_mbedtls_err_ssl_timeout() : scep_mbedtls_err_net_recv_failed()
}
#endif
