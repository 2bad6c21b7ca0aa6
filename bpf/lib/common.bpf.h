/* SPDX-License-Identifier: GPL-2.0-only OR Apache-2.0 */
/* Maps, configuration and the emit path shared by every Vigil handler. */
#ifndef VIGIL_COMMON_BPF_H
#define VIGIL_COMMON_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_endian.h>
#include "vigil_abi.h"

/* Signal and errno numbers (macros, so not in vmlinux.h): the generic values, which x86 and arm64 share. */
#define SIGKILL 9
#define EEXIST 17
/* File types of an inode's i_mode (include/uapi/linux/stat.h). */
#define S_IFMT 0170000
#define S_IFIFO 0010000

/* Set by user space before load. */
const volatile bool exec_all = true; /* emit exec events for processes outside sessions */

/* Set by user space at run time (mmapped .bss): 0 while no session is tracked, so the
 * syscall-exit handler returns before any map lookup. */
volatile __u32 tracked_sessions;
/* Bumped after every change to `vigil_tracked` (by user space, and by the fork and exit
 * handlers): invalidates every CPU's `session_cache` entry. In a section (a map) of its own:
 * the fork and exit of every tagged process write it, and on the line of `tracked_sessions`
 * that would take the line away from every CPU's next syscall. */
volatile __u64 tag_generation SEC(".data.gen");
/* See VIGIL_HINT_SLOTS. Written at every tagged fork and exit, hence a section of its own too. */
volatile __u32 tracked_hint[VIGIL_HINT_SLOTS] SEC(".data.hint");
/* Entries in vigil_exec_kill / vigil_open_kill: 0 skips those lookups on every exec / open. */
volatile __u32 exec_kill_rules;
volatile __u32 open_kill_rules;

struct {
    __uint(type, BPF_MAP_TYPE_RINGBUF);
    __uint(max_entries, 32 << 20);
} vigil_events SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 65536);
    __type(key, __u32); /* tgid */
    __type(value, struct vigil_session_tag);
} vigil_tracked SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, VIGIL_CTR_MAX);
    __type(key, __u32);
    __type(value, __u64);
} vigil_counters SEC(".maps");

/* Per-CPU scratch: records bigger than the 512-byte stack are built here. */
#define SCRATCH_EVENT 16384 /* header + body + path + argv/base (see path.bpf.h for the layout) */
struct scratch {
    __u64 since_wakeup;
    char name[256]; /* a path whose basename is wanted */
    char event[SCRATCH_EVENT];
};
struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, struct scratch);
} vigil_scratch SEC(".maps");

static __always_inline void count(__u32 counter)
{
    __u64 *value = bpf_map_lookup_elem(&vigil_counters, &counter);
    if (value)
        *value += 1;
}

static __always_inline struct scratch *scratch(void)
{
    __u32 zero = 0;
    return bpf_map_lookup_elem(&vigil_scratch, &zero);
}

/* Batched wakeups: records are submitted without waking the consumer, which drains on a short
 * poll timeout anyway; every `wakeup_every`-th record on a CPU wakes it so a burst is drained
 * before the ring fills. (Querying the ring's fill level per record costs a helper call.) 4096
 * records of ~100 bytes per CPU is ~1% of the default 32 MiB ring; waking the reader more often
 * makes it drain while the producer writes, and the producer then pays for the shared ring
 * positions bouncing between cores (~25 ns per record measured at 512). */
const volatile __u32 wakeup_every = 4096;

static __always_inline __u64 wakeup_flags_of(struct scratch *s)
{
    if (++s->since_wakeup < wakeup_every)
        return BPF_RB_NO_WAKEUP;
    s->since_wakeup = 0;
    return BPF_RB_FORCE_WAKEUP;
}

static __always_inline __u64 wakeup_flags(void)
{
    struct scratch *s = scratch();
    return s ? wakeup_flags_of(s) : 0;
}

static __always_inline void fill_header(struct vigil_event_header *hdr, __u16 kind, __u64 session)
{
    __u64 pid_tgid = bpf_get_current_pid_tgid();
    hdr->kind = kind;
    hdr->flags = 0;
    hdr->ktime_ns = bpf_ktime_get_ns();
    hdr->pid = pid_tgid >> 32;
    hdr->tid = (__u32)pid_tgid;
    hdr->session = session;
}

/* The same for the current task when the handler already holds it: two loads, not a helper call. */
static __always_inline void fill_header_of(struct vigil_event_header *hdr, __u16 kind, __u64 session,
                                           struct task_struct *current_task)
{
    hdr->kind = kind;
    hdr->flags = 0;
    hdr->ktime_ns = bpf_ktime_get_ns();
    hdr->pid = current_task->tgid;
    hdr->tid = current_task->pid;
    hdr->session = session;
}

/* The same without the time, for a record whose builder stamps it last (stamp()). */
static __always_inline void fill_header_untimed_of(struct vigil_event_header *hdr, __u16 kind, __u64 session,
                                                   struct task_struct *current_task)
{
    hdr->kind = kind;
    hdr->flags = 0;
    hdr->pid = current_task->tgid;
    hdr->tid = current_task->pid;
    hdr->session = session;
}

/* The record's time, read once the rest is built, just before it is emitted: the clock read
 * (bpf_ktime_get_ns(): rdtsc_ordered, which waits for the instructions before it to finish) cost
 * ~60 ns as the first thing an open event did and ~40 ns after the path walk (a whole open event
 * 266 -> 248 ns, median of 15 interleaved windows). The time is the same clock (CLOCK_MONOTONIC),
 * still read at the syscall's exit, a few tens of ns later. */
static __always_inline void stamp(struct vigil_event_header *hdr)
{
    hdr->ktime_ns = bpf_ktime_get_ns();
}

static __always_inline void counted(long rc, __u16 kind)
{
    count(rc == 0 ? VIGIL_CTR_EMITTED_BASE + kind : VIGIL_CTR_DROPPED_BASE + kind);
}

/* Copies a built record to the ring; counts it as emitted or dropped. The caller bounds `size`
 * (the verifier checks that record + size stays inside the scratch or the stack). */
static __always_inline void emit(void *record, __u32 size, __u16 kind)
{
    counted(bpf_ringbuf_output(&vigil_events, record, size, wakeup_flags()), kind);
}

/* The same for a record built in the scratch `s` the caller holds. */
static __always_inline void emit_from(struct scratch *s, void *record, __u32 size, __u16 kind)
{
    counted(bpf_ringbuf_output(&vigil_events, record, size, wakeup_flags_of(s)), kind);
}

/* The session of the task that last made a syscall on this CPU, valid while `tag_generation` is
 * unchanged: a process making many syscalls in a row costs one hash lookup, not one per syscall.
 * Keyed by the task pointer, which a later task may reuse — but only after an exit, and a tagged
 * child's fork or a tagged process's exit bumps the generation. Untagged → untagged reuse gives
 * the right answer (0) anyway. Read and written only by the sys_exit handler, which never nests. */
struct session_cache {
    __u64 task;
    __u64 generation;
    __u64 session;
};
struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, struct session_cache);
} vigil_session_cache SEC(".maps");

static __always_inline void tags_changed(void)
{
    __sync_fetch_and_add(&tag_generation, 1);
}

static __always_inline void hint_add(__u32 tgid, __s32 delta)
{
    __sync_fetch_and_add(&tracked_hint[tgid & (VIGIL_HINT_SLOTS - 1)], delta);
}

/* Tags `tgid` with `tag`: the hint is raised first, so no reader ever finds the entry with its
 * hint at zero. Returns the map update's result. */
static __always_inline long tag_tgid(__u32 tgid, struct vigil_session_tag *tag)
{
    hint_add(tgid, 1);
    long rc = bpf_map_update_elem(&vigil_tracked, &tgid, tag, BPF_NOEXIST);
    if (rc == 0)
        return 0;
    hint_add(tgid, -1); /* not a new entry: already counted, or not added at all */
    return rc == -EEXIST ? bpf_map_update_elem(&vigil_tracked, &tgid, tag, BPF_EXIST) : rc;
}

static __always_inline void untag_tgid(__u32 tgid)
{
    if (bpf_map_delete_elem(&vigil_tracked, &tgid) == 0)
        hint_add(tgid, -1);
}

static __always_inline __u64 session_of(__u32 tgid)
{
    if (tracked_hint[tgid & (VIGIL_HINT_SLOTS - 1)] == 0)
        return 0;
    struct vigil_session_tag *tag = bpf_map_lookup_elem(&vigil_tracked, &tgid);
    return tag ? tag->session : 0;
}

/* The cheap early return every high-rate handler starts with. */
static __always_inline __u64 current_session(void)
{
    if (tracked_sessions == 0)
        return 0;
    return session_of(bpf_get_current_pid_tgid() >> 32);
}

static __always_inline __u64 session_of_task(struct task_struct *task)
{
    __u32 zero = 0;
    struct session_cache *c = bpf_map_lookup_elem(&vigil_session_cache, &zero);
    if (!c)
        return session_of(task->tgid);
    __u64 generation = tag_generation; /* read before the map: a change after it bumps it again */
    if (c->task == (__u64)task && c->generation == generation)
        return c->session;
    __u64 session = session_of(task->tgid);
    c->task = (__u64)task;
    c->generation = generation;
    c->session = session;
    return session;
}

#endif
