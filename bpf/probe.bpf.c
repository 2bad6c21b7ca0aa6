// SPDX-License-Identifier: GPL-2.0-only OR Apache-2.0
/* Feature probes: each program is loaded (and attached where that is harmless) on its own at
 * start-up, so `vigil status` can say which enforcement modes this kernel allows. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

/* The verifier refuses GPL-only helpers (bpf_probe_read_kernel_str, among others) to a program
 * whose license string is not GPL-compatible. This source is GPL-2.0-only OR Apache-2.0; the
 * object is given to the kernel under its GPL-2.0 branch, hence "GPL" (not "Dual BSD/GPL": no BSD). */
char LICENSE[] SEC("license") = "GPL";

SEC("fentry/do_nanosleep")
int BPF_PROG(probe_fentry)
{
    return 0;
}

SEC("lsm/file_open")
int BPF_PROG(probe_lsm, struct file *file)
{
    return 0;
}

SEC("cgroup/connect4")
int probe_cgroup_connect4(struct bpf_sock_addr *ctx)
{
    return 1;
}

SEC("tp_btf/io_uring_submit_req")
int BPF_PROG(probe_io_uring, void *req)
{
    return 0;
}
