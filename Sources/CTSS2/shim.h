/* SPDX-License-Identifier: Apache-2.0 */
/* Debian's tpm2-tss (libtss2-dev): the enhanced system API, the TCTI loader, marshalling, RC text. */
#include <tss2/tss2_esys.h>
#include <tss2/tss2_mu.h>
#include <tss2/tss2_rc.h>
#include <tss2/tss2_tctildr.h>
