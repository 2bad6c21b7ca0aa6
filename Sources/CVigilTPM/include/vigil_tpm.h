/* SPDX-License-Identifier: Apache-2.0 */
/* The device key in a TPM 2.0, behind an opaque handle: the only TPM calls Swift makes. Every
 * function returns a TSS2_RC (0 is success); vigil_tpm_rc_text names any other. */
#ifndef VIGIL_TPM_H
#define VIGIL_TPM_H

#include <stddef.h>
#include <stdint.h>

typedef struct vigil_tpm vigil_tpm;

/* Largest marshalled TPM2B_PUBLIC || TPM2B_PRIVATE blob (both structures at their maximum size). */
#define VIGIL_TPM_BLOB_MAX 2048

/* Opens the TCTI named by `tcti` ("device:/dev/tpmrm0", "swtpm:host=…,port=…") and starts the TPM
 * if it was not started. On success *out is a handle for vigil_tpm_close. */
uint32_t vigil_tpm_open(const char *tcti, vigil_tpm **out);

/* Flushes the loaded key (if any), closes the TCTI and frees the handle. */
void vigil_tpm_close(vigil_tpm *tpm);

/* Makes a new ECDSA P-256 signing key (fixedTPM, fixedParent, sensitiveDataOrigin, userWithAuth,
 * noDA, sign) under the owner hierarchy's standard ECC SRK and writes its public and private parts
 * (TPM2B_PUBLIC then TPM2B_PRIVATE, TPM wire format) to blob. Nothing stays loaded. */
uint32_t vigil_tpm_create(vigil_tpm *tpm, uint8_t *blob, size_t capacity, size_t *length);

/* Loads a blob from vigil_tpm_create under a re-created SRK (the SRK is flushed at once) and keeps
 * it loaded for vigil_tpm_sign, replacing any key loaded before. x and y: the public point. */
uint32_t vigil_tpm_load(vigil_tpm *tpm, const uint8_t *blob, size_t length, uint8_t x[32], uint8_t y[32]);

/* Signs a SHA-256 digest with the loaded key: r and s, left-padded to 32 bytes each. */
uint32_t vigil_tpm_sign(vigil_tpm *tpm, const uint8_t digest[32], uint8_t r[32], uint8_t s[32]);

/* A static description of rc (tpm2-tss's Tss2_RC_Decode). */
const char *vigil_tpm_rc_text(uint32_t rc);

/* Codes of our own, in the TSS2 "feature" layer so they never collide with the TPM's or TSS's. */
#define VIGIL_TPM_RC_NO_KEY 0x00070001u     /* vigil_tpm_sign before vigil_tpm_load */
#define VIGIL_TPM_RC_BAD_BLOB 0x00070002u   /* the blob does not unmarshal, or has bytes left over */
#define VIGIL_TPM_RC_NOT_P256 0x00070003u   /* the loaded key is not an ECC P-256 key */
#define VIGIL_TPM_RC_BAD_LENGTH 0x00070004u /* a signature component longer than 32 bytes */

#endif
