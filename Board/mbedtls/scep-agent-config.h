/*
 * mbedTLS 2.28 configuration for the shipped scep-agent binary: exactly what the agent uses.
 *
 * The static builds compile mbedTLS from Debian's source with this file (Scripts/build-mbedtls.sh)
 * and compile our Swift against the same file, so struct layouts agree. Normal-mode builds
 * (swift build / swift test) use Debian's libmbedtls-dev with its own configuration instead.
 *
 * What is here and why:
 *   RSA keygen, PKCS#1 v1.5 sign/verify/encrypt/decrypt   SCEP keys, CMS signatures, key transport
 *   ECDSA and ECDH on P-256 and P-384                     EC device keys, key-agreement replies (RFC 5753)
 *   PKCS#5 PBKDF2                                         password-recipient replies (RFC 3211)
 *   SHA-1 (replies only), SHA-256, SHA-384, SHA-512        CMS digests; SHA-512 also feeds the entropy pool
 *   AES-CBC, DES and 3DES-CBC, AES-GCM                     CMS content; GCM for TLS and keystore at rest
 *   CTR_DRBG over the platform entropy source             every random byte
 *   X.509 parsing, PEM parsing                            TLS server certificates, --tls-ca bundles
 *   TLS 1.2 client with ECDHE-RSA, ECDHE-ECDSA and RSA    https:// SCEP servers
 * What is not: the TLS server side, DTLS, sessions tickets and caches, legacy ciphers (ARC4,
 * Blowfish, Camellia, ARIA, XTEA), MD2/4/5, RIPEMD, PKCS#12, HAVEGE, test certificates,
 * debug and error strings, self tests, the networking module (sockets are the platform layer's).
 */
#ifndef SCEP_AGENT_MBEDTLS_CONFIG_H
#define SCEP_AGENT_MBEDTLS_CONFIG_H

/* System support */
#define MBEDTLS_HAVE_ASM
#define MBEDTLS_HAVE_TIME
#define MBEDTLS_HAVE_TIME_DATE
#define MBEDTLS_DEPRECATED_REMOVED

/* Randomness */
#define MBEDTLS_ENTROPY_C
#define MBEDTLS_CTR_DRBG_C

/* Digests. The _SMALLER variants and AES_FEWER_TABLES trade a little speed for ~9 KB: the agent
 * hashes and encrypts kilobytes, a few times a year. */
#define MBEDTLS_MD_C
#define MBEDTLS_SHA1_C
#define MBEDTLS_SHA256_C
#define MBEDTLS_SHA256_SMALLER
#define MBEDTLS_SHA512_C
#define MBEDTLS_SHA512_SMALLER

/* Ciphers */
#define MBEDTLS_CIPHER_C
#define MBEDTLS_CIPHER_MODE_CBC
#define MBEDTLS_CIPHER_PADDING_PKCS7
#define MBEDTLS_AES_C
#define MBEDTLS_AES_ROM_TABLES
#define MBEDTLS_AES_FEWER_TABLES
#define MBEDTLS_DES_C
#define MBEDTLS_GCM_C

/* Public keys */
#define MBEDTLS_BIGNUM_C
#define MBEDTLS_GENPRIME
#define MBEDTLS_RSA_C
#define MBEDTLS_PKCS1_V15
#define MBEDTLS_PKCS1_V21
#define MBEDTLS_PK_C
#define MBEDTLS_PK_PARSE_C
#define MBEDTLS_PK_WRITE_C
#define MBEDTLS_PKCS5_C

/* Elliptic curves: EC device keys (ECDSA) and key-agreement replies (ECDH), on the two curves
 * the agent offers. Every build has them, the tiny one included. */
#define MBEDTLS_ECP_C
#define MBEDTLS_ECP_DP_SECP256R1_ENABLED
#define MBEDTLS_ECP_DP_SECP384R1_ENABLED
#define MBEDTLS_ECDH_C
#define MBEDTLS_ECDSA_C

/*
 * Everything below serves TLS only. The tiny build (SCEP_AGENT_NO_TLS, set by
 * Scripts/build-mbedtls.sh at the top of its copy of this file) leaves it out: SCEP protects its
 * messages end to end with CMS, so plain http:// is the protocol's normal transport.
 */
#ifndef SCEP_AGENT_NO_TLS
/* ECDHE with X25519 for TLS, and the NIST curves' fast reduction (the tiny build does without
 * it: an EC key operation there takes a few milliseconds more). */
#define MBEDTLS_ECP_DP_CURVE25519_ENABLED
#define MBEDTLS_ECP_NIST_OPTIM
#endif

/* Encodings */
#define MBEDTLS_ASN1_PARSE_C
#define MBEDTLS_ASN1_WRITE_C
#define MBEDTLS_OID_C
#define MBEDTLS_BASE64_C
#define MBEDTLS_PEM_PARSE_C
#define MBEDTLS_VERSION_C

#ifndef SCEP_AGENT_NO_TLS
/* X.509: server certificates and --tls-ca bundles */
#define MBEDTLS_X509_USE_C
#define MBEDTLS_X509_CRT_PARSE_C

/* TLS 1.2 client */
#define MBEDTLS_SSL_TLS_C
#define MBEDTLS_SSL_CLI_C
#define MBEDTLS_SSL_PROTO_TLS1_2
#define MBEDTLS_SSL_SERVER_NAME_INDICATION
#define MBEDTLS_SSL_ENCRYPT_THEN_MAC
#define MBEDTLS_SSL_EXTENDED_MASTER_SECRET
#define MBEDTLS_SSL_KEEP_PEER_CERTIFICATE
#define MBEDTLS_KEY_EXCHANGE_RSA_ENABLED
#define MBEDTLS_KEY_EXCHANGE_ECDHE_RSA_ENABLED
#define MBEDTLS_KEY_EXCHANGE_ECDHE_ECDSA_ENABLED
#endif /* SCEP_AGENT_NO_TLS */

#include "mbedtls/check_config.h"

#endif
