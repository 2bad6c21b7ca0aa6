/* SPDX-License-Identifier: Apache-2.0 */
#include <bpf/libbpf.h>
#include <bpf/bpf.h>
