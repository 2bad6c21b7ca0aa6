// SPDX-License-Identifier: GPL-2.0 OR Apache-2.0
/* An empty program on the same hook as the sensor's syscall handler: its bpf_stats run time is
 * the measurement floor (the two clock reads bpf_stats adds, ~60 ns in a VM), reported beside
 * the sensor's figures so they can be read net of it. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

SEC("tp_btf/sys_exit")
int BPF_PROG(floor_sys_exit, struct pt_regs *regs, long ret)
{
    return 0;
}
