/* SPDX-License-Identifier: Apache-2.0 */
/* x86_64: syscall numbers (64-bit, then i386 for int 0x80 and other compat entries), the
 * registers the arguments arrive in, and how a compat syscall is recognised. Included through
 * syscalls.bpf.h only. */
#ifndef VIGIL_SYSCALLS_X86_BPF_H
#define VIGIL_SYSCALLS_X86_BPF_H

#define NR_OPEN 2
#define NR_CREAT 85
#define NR_OPENAT 257
#define NR_OPENAT2 437
#define NR_CONNECT 42
#define NR_SENDTO 44
#define NR_SENDMSG 46
#define NR32_OPEN 5
#define NR32_CREAT 8
#define NR32_OPENAT 295
#define NR32_OPENAT2 437
#define NR32_CONNECT 362
#define NR32_SENDTO 369

/* Calls that reach into another process (checked at entry by vigil_sys_enter). */
#define NR_PTRACE 101
#define NR_PROCESS_VM_READV 310
#define NR_PROCESS_VM_WRITEV 311
#define NR_PIDFD_GETFD 438
#define NR32_PTRACE 26
#define NR32_PROCESS_VM_READV 347
#define NR32_PROCESS_VM_WRITEV 348
#define NR32_PIDFD_GETFD 438

/* thread_info.status: the task is in a 32-bit syscall (arch/x86/include/asm/thread_info.h). */
#define TS_COMPAT 0x0002

struct syscall_args {
    unsigned long a[5];
};

static __always_inline long syscall_nr(struct pt_regs *regs)
{
    return regs->orig_ax;
}

static __always_inline bool syscall_is_compat(struct task_struct *task)
{
    return task->thread_info.status & TS_COMPAT;
}

/* The first five arguments as the caller passed them (x86_64: di si dx r10 r8; i386: bx cx dx si di). */
static __always_inline void syscall_args_of(struct pt_regs *regs, bool compat, struct syscall_args *a)
{
    if (!compat) {
        a->a[0] = regs->di;
        a->a[1] = regs->si;
        a->a[2] = regs->dx;
        a->a[3] = regs->r10;
        a->a[4] = regs->r8;
    } else {
        a->a[0] = (__u32)regs->bx;
        a->a[1] = (__u32)regs->cx;
        a->a[2] = (__u32)regs->dx;
        a->a[3] = (__u32)regs->si;
        a->a[4] = (__u32)regs->di;
    }
}

/* Whether `nr` may be one of the calls sys_exit reports (opens, connect, sends), in either table:
 * the numbers alone, before the task is fetched (a helper call) to tell which table it is. */
static __always_inline bool syscall_may_be_reported(long nr)
{
    return nr == NR_OPEN || nr == NR_CREAT || nr == NR_OPENAT || nr == NR_OPENAT2 || nr == NR_CONNECT ||
           nr == NR_SENDTO || nr == NR_SENDMSG || nr == NR32_OPEN || nr == NR32_CREAT || nr == NR32_OPENAT ||
           nr == NR32_OPENAT2 || nr == NR32_CONNECT || nr == NR32_SENDTO;
}

/* Whether `nr` may be one of the calls of enum vigil_proc_call, in either table: the numbers alone,
 * a compare each, on every syscall of every task while a session runs. */
static __always_inline bool syscall_may_reach_process(long nr)
{
    return nr == NR_PTRACE || nr == NR_PROCESS_VM_READV || nr == NR_PROCESS_VM_WRITEV || nr == NR_PIDFD_GETFD ||
           nr == NR32_PTRACE || nr == NR32_PROCESS_VM_READV || nr == NR32_PROCESS_VM_WRITEV;
}

/* Which enum vigil_proc_call `nr` is, or 0, once syscall_may_reach_process said it may be one: the
 * compat flag decides, since the two tables share numbers (26 is msync in 64-bit, 101 and 310 are
 * other calls in i386). */
static __always_inline __u16 syscall_proc_call(long nr, struct task_struct *task)
{
    if (nr == NR_PIDFD_GETFD) /* the same in both */
        return VIGIL_PROC_PIDFD_GETFD;
    bool compat = syscall_is_compat(task);
    switch (nr) {
    case NR_PTRACE: return compat ? 0 : VIGIL_PROC_PTRACE;
    case NR_PROCESS_VM_READV: return compat ? 0 : VIGIL_PROC_VM_READV;
    case NR_PROCESS_VM_WRITEV: return compat ? 0 : VIGIL_PROC_VM_WRITEV;
    case NR32_PTRACE: return compat ? VIGIL_PROC_PTRACE : 0;
    case NR32_PROCESS_VM_READV: return compat ? VIGIL_PROC_VM_READV : 0;
    case NR32_PROCESS_VM_WRITEV: return compat ? VIGIL_PROC_VM_WRITEV : 0;
    default: return 0;
    }
}

/* The 64-bit number of a compat syscall this file names (openat2 has the same number in both). */
static __always_inline long syscall_native_nr(long nr)
{
    switch (nr) {
    case NR32_OPEN: return NR_OPEN;
    case NR32_CREAT: return NR_CREAT;
    case NR32_OPENAT: return NR_OPENAT;
    case NR32_CONNECT: return NR_CONNECT;
    case NR32_SENDTO: return NR_SENDTO;
    default: return nr;
    }
}

#endif
