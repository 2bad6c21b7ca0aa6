/* SPDX-License-Identifier: Apache-2.0 */
#include "vigil_tpm.h"

#include <stdlib.h>
#include <string.h>
#include <tss2/tss2_esys.h>
#include <tss2/tss2_mu.h>
#include <tss2/tss2_rc.h>
#include <tss2/tss2_tctildr.h>

struct vigil_tpm {
    TSS2_TCTI_CONTEXT *tcti;
    ESYS_CONTEXT *esys;
    ESYS_TR key; /* ESYS_TR_NONE when no key is loaded */
};

uint32_t vigil_tpm_open(const char *tcti, vigil_tpm **out)
{
    *out = NULL;
    vigil_tpm *tpm = calloc(1, sizeof *tpm);
    if (tpm == NULL)
        return TSS2_ESYS_RC_MEMORY;
    tpm->key = ESYS_TR_NONE;
    TSS2_RC rc = Tss2_TctiLdr_Initialize(tcti, &tpm->tcti);
    if (rc != TSS2_RC_SUCCESS) {
        free(tpm);
        return rc;
    }
    rc = Esys_Initialize(&tpm->esys, tpm->tcti, NULL);
    /* An answer within 20 s or an error: swtpm serves one connection at a time, and a second
     * client would otherwise wait forever (ECC key creation takes milliseconds on real TPMs too). */
    if (rc == TSS2_RC_SUCCESS)
        rc = Esys_SetTimeout(tpm->esys, 20000);
    if (rc == TSS2_RC_SUCCESS) {
        /* ESYS maps "already started" (TPM2_RC_INITIALIZE) to success. */
        rc = Esys_Startup(tpm->esys, TPM2_SU_CLEAR);
    }
    if (rc != TSS2_RC_SUCCESS) {
        vigil_tpm_close(tpm);
        return rc;
    }
    *out = tpm;
    return TSS2_RC_SUCCESS;
}

void vigil_tpm_close(vigil_tpm *tpm)
{
    if (tpm == NULL)
        return;
    if (tpm->esys != NULL) {
        /* No resource manager on swtpm: what we leave loaded fills its 3 object slots. */
        if (tpm->key != ESYS_TR_NONE)
            Esys_FlushContext(tpm->esys, tpm->key);
        Esys_Finalize(&tpm->esys);
    }
    if (tpm->tcti != NULL)
        Tss2_TctiLdr_Finalize(&tpm->tcti);
    free(tpm);
}

/* The standard ECC P-256 storage root key template, as `tpm2_createprimary -C o -G ecc256:aes128cfb`
 * makes it (attributes 0x30072): the owner seed and this template always give the same key, so
 * nothing about the parent is kept, and a key made by tpm2-tools under that primary loads too. */
static uint32_t create_srk(vigil_tpm *tpm, ESYS_TR *srk)
{
    TPM2B_SENSITIVE_CREATE sensitive = { 0 };
    TPM2B_PUBLIC template = {
        .publicArea = {
            .type = TPM2_ALG_ECC,
            .nameAlg = TPM2_ALG_SHA256,
            .objectAttributes = TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT | TPMA_OBJECT_SENSITIVEDATAORIGIN |
                                TPMA_OBJECT_USERWITHAUTH | TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_DECRYPT,
            .parameters.eccDetail = {
                .symmetric = {.algorithm = TPM2_ALG_AES, .keyBits.aes = 128, .mode.aes = TPM2_ALG_CFB},
                .scheme = {.scheme = TPM2_ALG_NULL},
                .curveID = TPM2_ECC_NIST_P256,
                .kdf = {.scheme = TPM2_ALG_NULL},
            },
            .unique.ecc = {.x = {.size = 32}, .y = {.size = 32}},
        },
    };
    TPM2B_DATA outside = { 0 };
    TPML_PCR_SELECTION pcrs = { 0 };
    return Esys_CreatePrimary(tpm->esys, ESYS_TR_RH_OWNER, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, &sensitive,
                              &template, &outside, &pcrs, srk, NULL, NULL, NULL, NULL);
}

uint32_t vigil_tpm_create(vigil_tpm *tpm, uint8_t *blob, size_t capacity, size_t *length)
{
    *length = 0;
    ESYS_TR srk = ESYS_TR_NONE;
    TSS2_RC rc = create_srk(tpm, &srk);
    if (rc != TSS2_RC_SUCCESS)
        return rc;
    TPM2B_SENSITIVE_CREATE sensitive = { 0 };
    TPM2B_PUBLIC template = {
        .publicArea = {
            .type = TPM2_ALG_ECC,
            .nameAlg = TPM2_ALG_SHA256,
            /* Never leaves this TPM, never re-parented, made inside it, no dictionary-attack
             * counting (an unclean stop must not lock the device key out), sign only. */
            .objectAttributes = TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT | TPMA_OBJECT_SENSITIVEDATAORIGIN |
                                TPMA_OBJECT_USERWITHAUTH | TPMA_OBJECT_NODA | TPMA_OBJECT_SIGN_ENCRYPT,
            .parameters.eccDetail = {
                .symmetric = {.algorithm = TPM2_ALG_NULL},
                .scheme = {.scheme = TPM2_ALG_ECDSA, .details.ecdsa.hashAlg = TPM2_ALG_SHA256},
                .curveID = TPM2_ECC_NIST_P256,
                .kdf = {.scheme = TPM2_ALG_NULL},
            },
        },
    };
    TPM2B_DATA outside = { 0 };
    TPML_PCR_SELECTION pcrs = { 0 };
    TPM2B_PRIVATE *private_part = NULL;
    TPM2B_PUBLIC *public_part = NULL;
    rc = Esys_Create(tpm->esys, srk, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, &sensitive, &template, &outside,
                     &pcrs, &private_part, &public_part, NULL, NULL, NULL);
    Esys_FlushContext(tpm->esys, srk);
    if (rc != TSS2_RC_SUCCESS)
        return rc;
    size_t offset = 0;
    rc = Tss2_MU_TPM2B_PUBLIC_Marshal(public_part, blob, capacity, &offset);
    if (rc == TSS2_RC_SUCCESS)
        rc = Tss2_MU_TPM2B_PRIVATE_Marshal(private_part, blob, capacity, &offset);
    Esys_Free(private_part);
    Esys_Free(public_part);
    if (rc == TSS2_RC_SUCCESS)
        *length = offset;
    return rc;
}

uint32_t vigil_tpm_load(vigil_tpm *tpm, const uint8_t *blob, size_t length, uint8_t x[32], uint8_t y[32])
{
    TPM2B_PUBLIC public_part = { 0 };
    TPM2B_PRIVATE private_part = { 0 };
    size_t offset = 0;
    if (Tss2_MU_TPM2B_PUBLIC_Unmarshal(blob, length, &offset, &public_part) != TSS2_RC_SUCCESS ||
        Tss2_MU_TPM2B_PRIVATE_Unmarshal(blob, length, &offset, &private_part) != TSS2_RC_SUCCESS || offset != length)
        return VIGIL_TPM_RC_BAD_BLOB;
    const TPMT_PUBLIC *area = &public_part.publicArea;
    if (area->type != TPM2_ALG_ECC || area->parameters.eccDetail.curveID != TPM2_ECC_NIST_P256 ||
        area->unique.ecc.x.size > 32 || area->unique.ecc.y.size > 32)
        return VIGIL_TPM_RC_NOT_P256;
    ESYS_TR srk = ESYS_TR_NONE;
    TSS2_RC rc = create_srk(tpm, &srk);
    if (rc != TSS2_RC_SUCCESS)
        return rc;
    ESYS_TR key = ESYS_TR_NONE;
    rc = Esys_Load(tpm->esys, srk, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, &private_part, &public_part, &key);
    Esys_FlushContext(tpm->esys, srk);
    if (rc != TSS2_RC_SUCCESS)
        return rc;
    if (tpm->key != ESYS_TR_NONE)
        Esys_FlushContext(tpm->esys, tpm->key);
    tpm->key = key;
    memset(x, 0, 32);
    memset(y, 0, 32);
    memcpy(x + 32 - area->unique.ecc.x.size, area->unique.ecc.x.buffer, area->unique.ecc.x.size);
    memcpy(y + 32 - area->unique.ecc.y.size, area->unique.ecc.y.buffer, area->unique.ecc.y.size);
    return TSS2_RC_SUCCESS;
}

static int left_pad(const TPM2B_ECC_PARAMETER *in, uint8_t out[32])
{
    if (in->size > 32)
        return 0;
    memset(out, 0, 32);
    memcpy(out + 32 - in->size, in->buffer, in->size);
    return 1;
}

uint32_t vigil_tpm_sign(vigil_tpm *tpm, const uint8_t digest[32], uint8_t r[32], uint8_t s[32])
{
    if (tpm->key == ESYS_TR_NONE)
        return VIGIL_TPM_RC_NO_KEY;
    TPM2B_DIGEST in = { .size = 32 };
    memcpy(in.buffer, digest, 32);
    TPMT_SIG_SCHEME scheme = { .scheme = TPM2_ALG_ECDSA, .details.ecdsa.hashAlg = TPM2_ALG_SHA256 };
    /* A null ticket: the key is not restricted, so the TPM need not have hashed the message itself. */
    TPMT_TK_HASHCHECK ticket = { .tag = TPM2_ST_HASHCHECK, .hierarchy = TPM2_RH_NULL };
    TPMT_SIGNATURE *signature = NULL;
    TSS2_RC rc =
        Esys_Sign(tpm->esys, tpm->key, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, &in, &scheme, &ticket, &signature);
    if (rc != TSS2_RC_SUCCESS)
        return rc;
    int ok = left_pad(&signature->signature.ecdsa.signatureR, r) && left_pad(&signature->signature.ecdsa.signatureS, s);
    Esys_Free(signature);
    return ok ? TSS2_RC_SUCCESS : VIGIL_TPM_RC_BAD_LENGTH;
}

const char *vigil_tpm_rc_text(uint32_t rc)
{
    switch (rc) {
    case VIGIL_TPM_RC_NO_KEY: return "vigil: no key loaded";
    case VIGIL_TPM_RC_BAD_BLOB: return "vigil: the key blob is not a TPM2B_PUBLIC followed by a TPM2B_PRIVATE";
    case VIGIL_TPM_RC_NOT_P256: return "vigil: the key is not an ECC P-256 key";
    case VIGIL_TPM_RC_BAD_LENGTH: return "vigil: the TPM returned a signature component longer than 32 bytes";
    default: return Tss2_RC_Decode(rc);
    }
}
