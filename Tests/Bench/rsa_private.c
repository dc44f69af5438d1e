/*
 * make bench: the cost of one RSA-2048 private operation in the mbedTLS the shipped binary links
 * (same source, configuration and flags), beside `openssl speed`. A renewal needs three (the CSR's
 * signature, the request's signature, the reply's key transport), which is most of the agent's
 * own protocol work.
 *
 *   rsa_private KEY.pem [OPERATIONS]    prints the median milliseconds per signature
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "mbedtls/ctr_drbg.h"
#include "mbedtls/entropy.h"
#include "mbedtls/pk.h"

static double now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static int compare(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv) {
    if (argc < 2) { fprintf(stderr, "usage: rsa_private KEY.pem [OPERATIONS]\n"); return 2; }
    int operations = argc > 2 ? atoi(argv[2]) : 51;
    if (operations < 1 || operations > 10000) operations = 51;

    static unsigned char pem[16384];
    FILE *file = fopen(argv[1], "rb");
    if (!file) { perror(argv[1]); return 1; }
    size_t length = fread(pem, 1, sizeof pem - 1, file);
    fclose(file);
    pem[length] = 0;

    mbedtls_entropy_context entropy;
    mbedtls_ctr_drbg_context drbg;
    mbedtls_pk_context key;
    mbedtls_entropy_init(&entropy);
    mbedtls_ctr_drbg_init(&drbg);
    mbedtls_pk_init(&key);
    if (mbedtls_ctr_drbg_seed(&drbg, mbedtls_entropy_func, &entropy, NULL, 0) != 0
        || mbedtls_pk_parse_key(&key, pem, length + 1, NULL, 0) != 0) {
        fprintf(stderr, "rsa_private: cannot set up the key\n");
        return 1;
    }
    unsigned char digest[32] = {1}, signature[MBEDTLS_PK_SIGNATURE_MAX_SIZE];
    size_t signature_length;
    double *times = calloc((size_t)operations, sizeof *times);
    if (!times) return 1;
    for (int i = 0; i < operations; i++) {
        double start = now_ms();
        if (mbedtls_pk_sign(&key, MBEDTLS_MD_SHA256, digest, sizeof digest, signature, &signature_length,
                            mbedtls_ctr_drbg_random, &drbg) != 0) {
            fprintf(stderr, "rsa_private: signing failed\n");
            return 1;
        }
        times[i] = now_ms() - start;
    }
    qsort(times, (size_t)operations, sizeof *times, compare);
    printf("%.2f\n", times[operations / 2]);
    free(times);
    mbedtls_pk_free(&key);
    mbedtls_ctr_drbg_free(&drbg);
    mbedtls_entropy_free(&entropy);
    return 0;
}
