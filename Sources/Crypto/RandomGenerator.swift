import CMbedTLS

/// Cryptographically secure random bytes: mbedTLS's CTR_DRBG seeded from the kernel's entropy.
///
/// Keys, nonces, IVs and content keys all come from here. Reference type because mbedTLS keeps
/// pointers to the state across calls.
public final class RandomGenerator {
    let entropy: UnsafeMutablePointer<mbedtls_entropy_context>
    let drbg: UnsafeMutablePointer<mbedtls_ctr_drbg_context>

    public init() throws(CryptoError) {
        entropy = .allocate(capacity: 1)
        drbg = .allocate(capacity: 1)
        mbedtls_entropy_init(entropy)
        mbedtls_ctr_drbg_init(drbg)
        let personalization: [UInt8] = Array("scep-agent".utf8)
        let result = personalization.withUnsafeBufferPointer {
            mbedtls_ctr_drbg_seed(drbg, mbedtls_entropy_func, entropy, $0.baseAddress, $0.count)
        }
        try check(.seedRandom, result)
    }

    deinit {
        mbedtls_ctr_drbg_free(drbg)
        mbedtls_entropy_free(entropy)
        drbg.deallocate()
        entropy.deallocate()
    }

    public func bytes(_ count: Int) throws(CryptoError) -> [UInt8] {
        var output = [UInt8](repeating: 0, count: count)
        let result = output.withUnsafeMutableBufferPointer { buffer in
            fill(buffer)
        }
        try check(.random, result)
        return output
    }

    func fill(_ buffer: UnsafeMutableBufferPointer<UInt8>) -> Int32 {
        // CTR_DRBG hands out at most MBEDTLS_CTR_DRBG_MAX_REQUEST (1024) bytes per call.
        var offset = 0
        while offset < buffer.count {
            let chunk = min(1024, buffer.count - offset)
            let result = mbedtls_ctr_drbg_random(drbg, buffer.baseAddress! + offset, chunk)
            if result != 0 { return result }
            offset += chunk
        }
        return 0
    }

    /// The (function, context) pair mbedTLS APIs take for randomness.
    var context: UnsafeMutableRawPointer { UnsafeMutableRawPointer(drbg) }
}
