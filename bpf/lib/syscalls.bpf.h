/* SPDX-License-Identifier: Apache-2.0 */
/* The syscall ABI of the target architecture: numbers, argument registers, compat tasks. Each
 * architecture has its own header (and its own bpf/include/$(ARCH)/vmlinux.h); another one fails
 * here instead of being compiled with x86's numbers. */
#ifndef VIGIL_SYSCALLS_BPF_H
#define VIGIL_SYSCALLS_BPF_H

#if defined(__TARGET_ARCH_x86)
#include "syscalls_x86.bpf.h"
#else
#error "no syscall table for this __TARGET_ARCH: add bpf/lib/syscalls_$(ARCH).bpf.h (see syscalls_x86.bpf.h)"
#endif

#endif
