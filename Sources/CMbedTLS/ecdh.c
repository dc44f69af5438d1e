/*
 * The ECDH shared secret of CMS key agreement (RFC 5753): Z, the x-coordinate of d·P, for the
 * device's key d and the peer's (the server's ephemeral) point P.
 *
 * In C because it works on the fields of mbedTLS's key pair and point structures, which Swift
 * could only reach through temporary copies. The peer's point comes from the network: it is
 * checked to lie on the curve before it is used, so an invalid-curve point cannot leak bits of d.
 */
#include "cmbedtls.h"

SCEP_OUT_OF_LINE_BEGIN

int scep_ecdh_shared_secret(mbedtls_pk_context *key, const unsigned char *peer, size_t peer_length,
                            unsigned char *secret, size_t secret_length,
                            int (*f_rng)(void *, unsigned char *, size_t), void *p_rng) {
    if (mbedtls_pk_get_type(key) != MBEDTLS_PK_ECKEY) return MBEDTLS_ERR_PK_TYPE_MISMATCH;
    mbedtls_ecp_keypair *pair = mbedtls_pk_ec(*key);
    if (secret_length != mbedtls_mpi_size(&pair->grp.P)) return MBEDTLS_ERR_ECP_BAD_INPUT_DATA;

    mbedtls_ecp_point point;
    mbedtls_mpi z;
    mbedtls_ecp_point_init(&point);
    mbedtls_mpi_init(&z);
    int result = mbedtls_ecp_point_read_binary(&pair->grp, &point, peer, peer_length);
    if (result == 0) result = mbedtls_ecp_check_pubkey(&pair->grp, &point);
    if (result == 0) result = mbedtls_ecdh_compute_shared(&pair->grp, &z, &point, &pair->d, f_rng, p_rng);
    if (result == 0) result = mbedtls_mpi_write_binary(&z, secret, secret_length);
    mbedtls_mpi_free(&z); /* zeroizes */
    mbedtls_ecp_point_free(&point);
    return result;
}

SCEP_OUT_OF_LINE_END
