/*
 * A random source for RSAES-PKCS1-v1_5 encryption that draws from CTR_DRBG in bulk.
 *
 * mbedTLS 2.28 (rsa.c, rsaes_pkcs1_v15_encrypt) asks for its nonzero padding one byte per call:
 * close to 500 calls for a 4,096-bit CA key, and every CTR_DRBG call costs an AES key schedule
 * and four block encryptions whatever its length. Serving those bytes from one draw of
 * 256 makes the padding two calls. The bytes are the generator's, in order; nothing is reused,
 * and each byte is wiped from the pool as it is handed out.
 */
#include "cmbedtls.h"

#include <string.h>

SCEP_OUT_OF_LINE_BEGIN

void scep_padding_source_init(scep_padding_source *source, mbedtls_ctr_drbg_context *drbg) {
    source->drbg = drbg;
    source->used = sizeof source->pool;
}

int scep_padding_random(void *context, unsigned char *output, size_t length) {
    scep_padding_source *source = context;
    while (length > 0) {
        if (source->used == sizeof source->pool) {
            int result = mbedtls_ctr_drbg_random(source->drbg, source->pool, sizeof source->pool);
            if (result != 0) return result;
            source->used = 0;
        }
        size_t available = sizeof source->pool - source->used;
        size_t chunk = length < available ? length : available;
        memcpy(output, source->pool + source->used, chunk);
        mbedtls_platform_zeroize(source->pool + source->used, chunk);
        source->used += chunk;
        output += chunk;
        length -= chunk;
    }
    return 0;
}

void scep_padding_source_free(scep_padding_source *source) {
    mbedtls_platform_zeroize(source, sizeof *source);
}

SCEP_OUT_OF_LINE_END
