/*
 * CMbedTLS: the crypto layer's only door to mbedTLS 2.28 (Debian libmbedtls-dev).
 *
 * What Swift cannot import directly (string macros, size macros, variadic or macro-only helpers)
 * is wrapped here as scep_mbedtls_*. Two helpers are written in C: scep_padding_random, because
 * mbedTLS calls it back hundreds of times per operation, and scep_ecdh_shared_secret, because it
 * works on the fields of mbedTLS's structures. Nothing outside Sources/Crypto may import
 * this module (Scripts/check-layers.sh).
 */
#ifndef SCEP_CMBEDTLS_H
#define SCEP_CMBEDTLS_H

#include <stddef.h>
#include <stdint.h>

#include <mbedtls/version.h>
#include <mbedtls/aes.h>
#include <mbedtls/bignum.h>
#include <mbedtls/cipher.h>
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/des.h>
#include <mbedtls/ecdh.h>
#include <mbedtls/ecdsa.h>
#include <mbedtls/ecp.h>
#include <mbedtls/entropy.h>
#include <mbedtls/error.h>
#include <mbedtls/gcm.h>
#include <mbedtls/md.h>
#include <mbedtls/net_sockets.h> /* only for its MBEDTLS_ERR_NET_* codes; sockets are the platform layer's */
#include <mbedtls/pk.h>
#include <mbedtls/pkcs5.h>
#include <mbedtls/platform_util.h>
#include <mbedtls/rsa.h>
#include <mbedtls/sha1.h>
#include <mbedtls/sha256.h>
#include <mbedtls/sha512.h>
#include <mbedtls/ssl.h>
#include <mbedtls/x509_crt.h>

/* Each shim's functions stay out of line (SCEP_OUT_OF_LINE_BEGIN at the top of its .c file,
 * SCEP_OUT_OF_LINE_END at the end). With link-time optimisation LLVM inlined them into their Swift
 * callers, and a C function's stack canary did not survive that: the seccomp filters' builders,
 * the Landlock set-up and the ECDH shim hold arrays on the stack. */
#ifndef SCEP_OUT_OF_LINE_BEGIN
#define SCEP_OUT_OF_LINE_BEGIN _Pragma("clang attribute push (__attribute__((noinline)), apply_to = function)")
#define SCEP_OUT_OF_LINE_END _Pragma("clang attribute pop")
#endif

static inline size_t scep_mbedtls_pk_signature_max_size(void) { return MBEDTLS_PK_SIGNATURE_MAX_SIZE; }
static inline size_t scep_mbedtls_mpi_max_size(void) { return MBEDTLS_MPI_MAX_SIZE; }
/* The bit length of an RSA key's public exponent (0 for another kind of key). */
static inline size_t scep_mbedtls_rsa_exponent_bits(const mbedtls_pk_context *pk) {
    if (mbedtls_pk_get_type(pk) != MBEDTLS_PK_RSA) return 0;
    return mbedtls_mpi_bitlen(&mbedtls_pk_rsa(*pk)->E);
}

/* Status codes the TLS layer's I/O callbacks return; macros Swift does not see as constants. */
static inline int scep_mbedtls_err_ssl_want_read(void) { return MBEDTLS_ERR_SSL_WANT_READ; }
static inline int scep_mbedtls_err_ssl_want_write(void) { return MBEDTLS_ERR_SSL_WANT_WRITE; }
static inline int scep_mbedtls_err_ssl_timeout(void) { return MBEDTLS_ERR_SSL_TIMEOUT; }
static inline int scep_mbedtls_err_ssl_peer_close_notify(void) { return MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY; }
static inline int scep_mbedtls_err_net_conn_reset(void) { return MBEDTLS_ERR_NET_CONN_RESET; }
static inline int scep_mbedtls_err_net_recv_failed(void) { return MBEDTLS_ERR_NET_RECV_FAILED; }
static inline int scep_mbedtls_err_net_send_failed(void) { return MBEDTLS_ERR_NET_SEND_FAILED; }

/*
 * A random source for RSAES-PKCS1-v1_5 encryption, which mbedTLS asks for padding one byte at a
 * time: serves those bytes from bulk CTR_DRBG draws (padding_random.c). Lives on the caller's
 * stack for one operation; _free wipes it.
 */
typedef struct {
    mbedtls_ctr_drbg_context *drbg;
    size_t used;
    unsigned char pool[256];
} scep_padding_source;

void scep_padding_source_init(scep_padding_source *source, mbedtls_ctr_drbg_context *drbg);
int scep_padding_random(void *context, unsigned char *output, size_t length);
void scep_padding_source_free(scep_padding_source *source);

/* The ECDH shared secret (x-coordinate) of an EC private key and a peer's uncompressed point,
 * checked to be on the key's curve first (ecdh.c). secret_length must be the coordinate size. */
int scep_ecdh_shared_secret(mbedtls_pk_context *key, const unsigned char *peer, size_t peer_length,
                            unsigned char *secret, size_t secret_length,
                            int (*f_rng)(void *, unsigned char *, size_t), void *p_rng);

#endif
