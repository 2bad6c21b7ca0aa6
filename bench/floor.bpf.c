// SPDX-License-Identifier: GPL-2.0-only OR Apache-2.0
/* Empty programs on the sensor's hooks: their bpf_stats run time is the measurement floor (the
 * two clock reads bpf_stats adds, ~60 ns in a VM, and the hook's own dispatch), reported beside
 * the sensor's figures so they can be read net of it, hook by hook. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

/* The verifier refuses GPL-only helpers (bpf_probe_read_kernel_str, among others) to a program
 * whose license string is not GPL-compatible. This source is GPL-2.0-only OR Apache-2.0; the
 * object is given to the kernel under its GPL-2.0 branch, hence "GPL" (not "Dual BSD/GPL": no BSD). */
char LICENSE[] SEC("license") = "GPL";

SEC("tp_btf/sys_exit")
int BPF_PROG(floor_sys_exit, struct pt_regs *regs, long ret)
{
    return 0;
}

SEC("tp_btf/sys_enter")
int BPF_PROG(floor_sys_enter, struct pt_regs *regs, long id)
{
    return 0;
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(floor_exec, struct task_struct *task, pid_t old_pid, struct linux_binprm *bprm)
{
    return 0;
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(floor_fork, struct task_struct *parent, struct task_struct *child)
{
    return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(floor_exit, struct task_struct *task, bool group_dead)
{
    return 0;
}
