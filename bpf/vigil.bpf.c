// SPDX-License-Identifier: GPL-2.0-only OR Apache-2.0
/*
 * Vigil's kernel sensor. Hooks (all usable without kprobes, fentry or BPF LSM):
 *   tp_btf/sched_process_exec   exec: kernel-resolved binary path, argv, creds, cgroup
 *   tp_btf/sched_process_fork   fork: the child inherits the session tag before it first runs
 *   tp_btf/sched_process_exit   exit of a whole thread group
 *   tp_btf/sys_exit             open/openat/openat2/creat, connect, sendto/sendmsg — 64-bit and
 *                               compat (int 0x80) syscalls, decided at exit with the result
 *   tp_btf/sys_enter            ptrace, process_vm_readv/writev, pidfd_getfd on a process outside
 *                               the session: the caller is SIGKILLed before the call completes
 *   tp_btf/io_uring_submit_req  io_uring OPENAT/OPENAT2/CONNECT (they bypass syscall tracepoints)
 *   tp_btf/io_uring_complete    ... and their results
 *   cgroup/connect4|6, sendmsg4|6   on each session's cgroup: EPERM for denied destinations
 *                               (also for io_uring, whose connects pass through the same hooks)
 * Only processes in `vigil_tracked` (a session) produce events, except exec when exec_all is set.
 */
#include "lib/common.bpf.h"
#include "lib/path.bpf.h"
#include "lib/syscalls.bpf.h"

/* The verifier refuses GPL-only helpers (bpf_probe_read_kernel_str, among others) to a program
 * whose license string is not GPL-compatible. This source is GPL-2.0-only OR Apache-2.0; the
 * object is given to the kernel under its GPL-2.0 branch, hence "GPL" (not "Dual BSD/GPL": no BSD). */
char LICENSE[] SEC("license") = "GPL";

#define AT_FDCWD -100
#define O_WRONLY 01
#define O_CREAT 0100
#define O_TRUNC 01000
#define AF_UNIX 1
#define AF_INET 2
#define AF_INET6 10

/* ---------------------------------------------------------------- kfuncs and ptrace, used by the
 * lifecycle handlers and by sys_enter (below) */

#define PTRACE_TRACEME 0
#define PTRACE_ATTACH 16
#define PTRACE_SEIZE 0x4206
#define PIDFS_MAGIC 0x50494446

#ifndef bpf_ksym_exists /* libbpf before 1.2 */
#define bpf_ksym_exists(sym) (!!&(sym))
#endif

/* Weak: on a kernel without them (bpf_task_from_vpid is 6.13's) the target stays unresolved —
 * taken as outside — instead of the whole object failing to load. */
extern struct task_struct *bpf_task_from_pid(s32 pid) __ksym __weak;
extern struct task_struct *bpf_task_from_vpid(s32 vpid) __ksym __weak;
extern void bpf_task_release(struct task_struct *p) __ksym __weak;
extern int bpf_send_signal_task(struct task_struct *task, int sig, enum pid_type type, u64 value) __ksym __weak;

#define SIGCONT 18
#define SIGNAL_STOP_STOPPED 0x00000001 /* signal_struct.flags: the group is stopped */

/* A PTRACE_ATTACH refused by a kill still happened (the kill is delivered on the way out), and
 * queued a SIGSTOP for its target. When the killed tracer's thread exits (tracees are detached
 * after sched_process_exit), the target gets a SIGCONT — which also discards a SIGSTOP still queued
 * or dequeued but not acted on — unless it was stopped already before the attach. Keyed by the
 * tracer's tid; `attach_stops` counts the entries, so the exit handler looks only when one exists. */
struct attach_stop {
    __u32 target;
};
struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 1024);
    __type(key, __u32);
    __type(value, struct attach_stop);
} vigil_attach_stops SEC(".maps");
volatile __u32 attach_stops;

static __always_inline void undo_attach_stop(__u32 tid)
{
    struct attach_stop *stop = bpf_map_lookup_elem(&vigil_attach_stops, &tid);
    if (!stop)
        return;
    if (bpf_ksym_exists(bpf_task_from_pid) && bpf_ksym_exists(bpf_send_signal_task) &&
        bpf_ksym_exists(bpf_task_release)) {
        struct task_struct *t = bpf_task_from_pid(stop->target);
        if (t) {
            bpf_send_signal_task(t, SIGCONT, PIDTYPE_TGID, 0);
            bpf_task_release(t);
        }
    }
    if (bpf_map_delete_elem(&vigil_attach_stops, &tid) == 0)
        __sync_fetch_and_add(&attach_stops, -1);
}

/* Whether the process `tgid` is a stopped group (SIGSTOP, ^Z) now. */
static __always_inline bool group_stopped(__u32 tgid)
{
    if (!bpf_ksym_exists(bpf_task_from_pid) || !bpf_ksym_exists(bpf_task_release))
        return true; /* cannot tell: never continue it */
    struct task_struct *t = bpf_task_from_pid(tgid);
    if (!t)
        return true;
    bool stopped = t->signal->flags & SIGNAL_STOP_STOPPED;
    bpf_task_release(t);
    return stopped;
}

/* ---------------------------------------------------------------- process lifecycle */

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 4096);
    __type(key, struct vigil_exec_key);
    __type(value, __u8);
} vigil_exec_kill SEC(".maps");

static __always_inline bool file_name_denied(__u64 session, struct file *file)
{
    if (!file)
        return false;
    struct vigil_exec_key key = { .session = session };
    bpf_probe_read_kernel_str(key.name, sizeof(key.name), file->f_path.dentry->d_name.name);
    return bpf_map_lookup_elem(&vigil_exec_kill, &key) != NULL;
}

struct slash_ctx {
    __u32 len;
    __u32 start;
};

/* bpf_loop body: remembers the position after the last '/' of scratch->name. */
static long find_slash(__u32 i, struct slash_ctx *c)
{
    struct scratch *s = scratch();
    if (!s || i >= c->len)
        return 1;
    if (s->name[i & 255] == '/')
        c->start = i + 1;
    return 0;
}

/* The basename of a kernel string (a script's path, as executed) is denied. */
static __always_inline bool path_name_denied(__u64 session, const char *path)
{
    struct scratch *s = scratch();
    if (!s || !path)
        return false;
    long n = bpf_probe_read_kernel_str(s->name, sizeof(s->name), path);
    if (n <= 1)
        return false;
    struct slash_ctx c = { .len = n - 1 };
    bpf_loop(256, find_slash, &c, 0);
    struct vigil_exec_key key = { .session = session };
    bpf_probe_read_kernel_str(key.name, sizeof(key.name), &s->name[c.start & 255]);
    return bpf_map_lookup_elem(&vigil_exec_kill, &key) != NULL;
}

/* Exec(name) deny rules: the name of the file executed (symlinks resolved) or the name it was
 * executed by — for a script that is the script, not its interpreter. */
static __always_inline bool exec_denied(__u64 session, struct linux_binprm *bprm)
{
    return file_name_denied(session, bprm->file) || path_name_denied(session, bprm->filename);
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(vigil_fork, struct task_struct *parent, struct task_struct *child)
{
    if (tracked_sessions == 0)
        return 0;
    __u32 parent_tgid = parent->tgid;
    if (tracked_hint[parent_tgid & (VIGIL_HINT_SLOTS - 1)] == 0)
        return 0; /* before touching the child's task_struct: new, so not in any cache */
    struct vigil_session_tag *tag = bpf_map_lookup_elem(&vigil_tracked, &parent_tgid);
    if (!tag)
        return 0;
    __u32 child_tgid = child->tgid;
    if (child->pid != child_tgid) {
        /* A new thread of a tagged process: same tgid, so nothing to tag, but its task may reuse
         * the address of one some CPU's session cache still holds. */
        tags_changed();
        return 0;
    }
    struct vigil_session_tag child_tag = *tag;
    /* Tagged here, in the parent, before the child is woken: double fork, setsid and
     * reparenting cannot escape. */
    if (tag_tgid(child_tgid, &child_tag) != 0)
        count(VIGIL_CTR_TRACK_FAILED);
    tags_changed();

    struct vigil_fork_event e = {};
    fill_header(&e.hdr, VIGIL_EVENT_FORK, child_tag.session);
    e.hdr.size = sizeof(e);
    e.hdr.pid = parent_tgid;
    e.child_pid = child_tgid;
    emit(&e, sizeof(e), VIGIL_EVENT_FORK);
    return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(vigil_exit, struct task_struct *task, bool group_dead)
{
    if (tracked_sessions == 0)
        return 0;
    __u32 tgid = task->tgid;
    __u64 session = session_of(tgid);
    if (!session)
        return 0;
    if (attach_stops)
        undo_attach_stop(task->pid);
    if (!group_dead) {
        tags_changed(); /* a thread of a tagged process: its task may be reused by anyone */
        return 0;
    }
    struct vigil_exit_event e = {};
    fill_header(&e.hdr, VIGIL_EVENT_EXIT, session);
    e.hdr.size = sizeof(e);
    e.hdr.pid = tgid;
    e.exit_code = task->signal->group_exit_code ? task->signal->group_exit_code : task->exit_code;
    emit(&e, sizeof(e), VIGIL_EVENT_EXIT);
    untag_tgid(tgid);
    tags_changed();
    return 0;
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(vigil_exec, struct task_struct *task, pid_t old_pid, struct linux_binprm *bprm)
{
    __u32 tgid = task->tgid;
    __u64 session = tracked_sessions ? session_of(tgid) : 0;
    if (!session && !exec_all)
        return 0;
    struct scratch *s = scratch();
    if (!s)
        return 0;
    /* The fixed part is built on the stack and put in front of the path once it is resolved. */
    struct vigil_exec_event h;
    fill_header_of(&h.hdr, VIGIL_EVENT_EXEC, session, task);
    if (!session)
        h.hdr.flags |= VIGIL_F_UNTRACKED;
    h.ppid = task->real_parent->tgid;
    __u64 uid_gid = bpf_get_current_uid_gid();
    h.uid = (__u32)uid_gid;
    h.gid = uid_gid >> 32;
    h.old_tid = old_pid;
    h.cgroup_id = bpf_get_current_cgroup_id();

    struct file *file = bprm->file;
    if (session && exec_kill_rules && exec_denied(session, bprm)) {
        /* Delivered before the return to user space: the new image never runs. */
        bpf_send_signal(SIGKILL);
        h.hdr.flags |= VIGIL_F_KILLED;
        count(VIGIL_CTR_EXEC_KILLED);
    }
    struct inode *inode = file->f_inode;
    h.exe_dev = inode->i_sb->s_dev;
    h.exe_ino = inode->i_ino;
    if (inode->__i_nlink == 0)
        h.hdr.flags |= VIGIL_F_EXE_UNLINKED;
    /* Size, mtime and ctime complete the hash cache's key in user space (no stat per exec).
     * Kernels before 6.11 keep the times in another shape: there the flag stays clear and user
     * space stats. Bit 31 of i_ctime_nsec is a flag of multigrain timestamps, not time. */
    if (bpf_core_field_exists(inode->i_mtime_sec) && bpf_core_field_exists(inode->i_ctime_sec)) {
        h.exe_size = inode->i_size;
        h.exe_mtime_sec = inode->i_mtime_sec;
        h.exe_mtime_nsec = inode->i_mtime_nsec;
        h.exe_ctime_sec = inode->i_ctime_sec;
        h.exe_ctime_nsec = inode->i_ctime_nsec & 0x7fffffff;
        h.hdr.flags |= VIGIL_F_EXE_STAT;
    } else {
        h.exe_size = 0;
        h.exe_mtime_sec = 0;
        h.exe_mtime_nsec = 0;
        h.exe_ctime_sec = 0;
        h.exe_ctime_nsec = 0;
    }

    struct path_result p = resolve_path(s, &file->f_path);
    if (p.truncated) {
        h.hdr.flags |= VIGIL_F_PATH_TRUNCATED;
        count(VIGIL_CTR_PATH_TRUNCATED);
    }
    h.path_len = p.len;

    /* argv lives on the new stack, just written by the kernel: resident. It goes right after
     * the path, at PATH_END. */
    struct mm_struct *mm = task->mm;
    unsigned long arg_start = mm->arg_start, arg_end = mm->arg_end;
    __u32 argv_len = arg_end > arg_start ? arg_end - arg_start : 0;
    if (argv_len > VIGIL_ARGV_MAX) {
        argv_len = VIGIL_ARGV_MAX;
        h.hdr.flags |= VIGIL_F_ARGV_TRUNCATED;
        count(VIGIL_CTR_ARGV_TRUNCATED);
    }
    if (bpf_probe_read_user(&s->event[PATH_END], argv_len, (void *)arg_start) != 0)
        argv_len = 0;
    h.argv_len = argv_len;
    h.argc = BPF_CORE_READ(bprm, argc);
    __u32 size = sizeof(h) + p.len + argv_len;
    if (size > sizeof(h) + VIGIL_PATH_MAX + VIGIL_ARGV_MAX)
        return 0; /* cannot happen; bounds the size for the verifier */
    h.hdr.size = size;
    void *record = &s->event[p.start - sizeof(h)];
    __builtin_memcpy(record, &h, sizeof(h));
    emit_from(s, record, size, VIGIL_EVENT_EXEC);
    return 0;
}

/* ---------------------------------------------------------------- syscalls, decided at exit */

/* Syscall numbers, argument registers and compat detection: lib/syscalls.bpf.h, per architecture. */

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 4096);
    __type(key, struct vigil_exec_key);
    __type(value, __u8);
} vigil_open_kill SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 1024);
    __type(key, __u32); /* tgid of a session root: never killed for an open */
    __type(value, __u8);
} vigil_roots SEC(".maps");

/* Open(**\/NAME) deny rules, held in the kernel: returns the flags to add to the event. */
static __always_inline __u16 open_kill_check(__u64 session, struct file *file)
{
    if (open_kill_rules == 0)
        return 0;
    struct vigil_exec_key key = { .session = session };
    bpf_probe_read_kernel_str(key.name, sizeof(key.name), file->f_path.dentry->d_name.name);
    if (!bpf_map_lookup_elem(&vigil_open_kill, &key))
        return 0;
    __u32 tgid = bpf_get_current_pid_tgid() >> 32;
    if (bpf_map_lookup_elem(&vigil_roots, &tgid))
        return VIGIL_F_SPARED;
    /* Delivered before the return to user space: the descriptor is never used. */
    bpf_send_signal(SIGKILL);
    count(VIGIL_CTR_OPEN_KILLED);
    return VIGIL_F_KILLED;
}

/* An open whose file the kernel resolved: the path from the kernel's `struct file`, written in
 * front of the record's fixed part in the scratch (one pass), then emitted. */
static __always_inline void emit_open_from_file(struct scratch *s, struct vigil_open_event *h, struct file *file)
{
    struct path_result r = resolve_path(s, &file->f_path);
    if (r.truncated)
        h->hdr.flags |= VIGIL_F_PATH_TRUNCATED;
    h->hdr.flags |= VIGIL_F_PATH_FROM_FILE;
    /* A named pipe: work may be handed through it to a process outside the session. Two direct
     * loads: as two bpf_probe_read_kernel() calls (BPF_CORE_READ) this test cost ~50 ns of an open
     * event here (312 → 241 ns per sys_exit run, best of five). */
    if ((AS(struct inode, AS(struct file, file)->f_inode)->i_mode & S_IFMT) == S_IFIFO)
        h->hdr.flags |= VIGIL_F_FIFO;
    h->path_len = r.len;
    h->hdr.size = sizeof(*h) + r.len;
    stamp(&h->hdr);
    void *record = &s->event[r.start - sizeof(*h)];
    __builtin_memcpy(record, h, sizeof(*h));
    emit_from(s, record, sizeof(*h) + r.len, VIGIL_EVENT_OPEN);
}

static __always_inline void emit_open(struct task_struct *task, __u64 session, long ret, int dfd, const char *upath,
                                      __u32 flags, __u32 mode, __u16 extra_flags)
{
    struct scratch *s = scratch();
    if (!s)
        return;
    struct vigil_open_event h;
    fill_header_untimed_of(&h.hdr, VIGIL_EVENT_OPEN, session, task);
    h.hdr.flags = extra_flags;
    h.result = ret;
    h.flags = flags;
    h.mode = mode;
    h.base_len = 0;
    h.pad = 0;
    struct file *file = ret >= 0 ? file_of_fd(task, ret) : NULL;
    if (file) {
        /* What the kernel actually opened; the fixed part goes right in front of the path. */
        h.hdr.flags |= open_kill_check(session, file);
        emit_open_from_file(s, &h, file);
        return;
    }
    /* Failed open: the caller's string (resident: the kernel just read it), plus the resolved
     * directory it is relative to, laid out from the start of the scratch. */
    char *path = &s->event[sizeof(h)];
    long n = bpf_probe_read_user_str(path, VIGIL_PATH_MAX, upath);
    __u32 path_len = n > 0 ? (n - 1) & (VIGIL_PATH_MAX - 1) : 0;
    h.hdr.flags |= VIGIL_F_PATH_UNRESOLVED;
    __u32 base_len = 0;
    if (path[0] != '/') {
        struct path_result base = { .len = 0 };
        bool resolved = false;
        /* The base is built below PATH_END: only when it cannot reach the caller's string. */
        if (sizeof(h) + path_len < PATH_LOW) {
            if (dfd == AT_FDCWD) {
                base = resolve_path(s, &task->fs->pwd);
                resolved = true;
            } else {
                struct file *dir = file_of_fd(task, dfd);
                if (dir) {
                    base = resolve_path(s, &dir->f_path);
                    resolved = true;
                }
            }
        }
        if (resolved && sizeof(h) + path_len + base.len <= base.start) {
            bpf_probe_read_kernel(&s->event[sizeof(h) + path_len], base.len, &s->event[base.start]);
            base_len = base.len;
            if (base.truncated)
                h.hdr.flags |= VIGIL_F_PATH_TRUNCATED;
        } else if (resolved || sizeof(h) + path_len >= PATH_LOW) {
            h.hdr.flags |= VIGIL_F_PATH_TRUNCATED; /* no room for the base */
        }
    }
    h.path_len = path_len;
    h.base_len = base_len;
    h.hdr.size = sizeof(h) + path_len + base_len;
    stamp(&h.hdr);
    __builtin_memcpy(s->event, &h, sizeof(h));
    emit_from(s, s->event, sizeof(h) + path_len + base_len, VIGIL_EVENT_OPEN);
}

static __always_inline void fill_sockaddr(struct vigil_net_event *e, const void *uaddr, bool user)
{
    __u16 family = 0;
    if (user)
        bpf_probe_read_user(&family, sizeof(family), uaddr);
    else
        bpf_probe_read_kernel(&family, sizeof(family), uaddr);
    e->family = family;
    if (family == AF_INET) {
        struct sockaddr_in sin = {};
        user ? bpf_probe_read_user(&sin, sizeof(sin), uaddr) : bpf_probe_read_kernel(&sin, sizeof(sin), uaddr);
        e->port = bpf_ntohs(sin.sin_port);
        __builtin_memcpy(e->addr, &sin.sin_addr, 4);
    } else if (family == AF_INET6) {
        struct sockaddr_in6 sin6 = {};
        user ? bpf_probe_read_user(&sin6, sizeof(sin6), uaddr) : bpf_probe_read_kernel(&sin6, sizeof(sin6), uaddr);
        e->port = bpf_ntohs(sin6.sin6_port);
        __builtin_memcpy(e->addr, &sin6.sin6_addr, 16);
    } else if (family == AF_UNIX) {
        const char *path = (const char *)uaddr + 2;
        user ? bpf_probe_read_user(e->unix_path, sizeof(e->unix_path), path)
             : bpf_probe_read_kernel(e->unix_path, sizeof(e->unix_path), path);
    }
}

/* What the cgroup hook found, for the connect/send record sys_exit writes right after it in the
 * same syscall (the hook itself emits nothing: one record per connect). */
struct peer_note {
    __u64 cgroup;
    __u64 ino;
    __u16 flags;
    __u16 port; /* network order, as the record's check */
    __u32 pad;
};
struct {
    __uint(type, BPF_MAP_TYPE_TASK_STORAGE);
    __uint(map_flags, BPF_F_NO_PREALLOC);
    __type(key, int);
    __type(value, struct peer_note);
} vigil_peer_notes SEC(".maps");

/* The record of this connect/send takes what the hook found in this same syscall, once. */
static __always_inline void take_peer_note(struct vigil_net_event *e)
{
    struct peer_note *note = bpf_task_storage_get(&vigil_peer_notes, bpf_get_current_task_btf(), 0, 0);
    if (!note || !note->flags)
        return;
    if (bpf_htons(e->port) == note->port) {
        e->hdr.flags |= note->flags;
        e->peer_cgroup = note->cgroup;
        e->peer_ino = note->ino;
    }
    note->flags = 0;
}

/* UDP and friends: only the first datagram to each destination per process is reported. */
struct send_key {
    __u32 tgid;
    __u16 family;
    __u16 port;
    __u8 addr[16];
};
struct {
    __uint(type, BPF_MAP_TYPE_LRU_HASH);
    __uint(max_entries, 16384);
    __type(key, struct send_key);
    __type(value, __u8);
} vigil_send_seen SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 1024);
    __type(key, __u64); /* session */
    __type(value, struct vigil_peer_rule);
} vigil_peer_rules SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_HASH);
    __uint(max_entries, 4096);
    __type(key, struct vigil_unix_key);
    __type(value, __u8);
} vigil_unix_allow SEC(".maps");

struct unix_zero_ctx {
    struct vigil_unix_key *key;
    bool seen_nul;
};

/* bpf_loop body: clears every byte after the path's first NUL (the caller's buffer holds garbage there). */
static long unix_zero_tail(__u32 i, struct unix_zero_ctx *c)
{
    if (i >= VIGIL_UNIX_PATH_MAX)
        return 1;
    if (c->seen_nul)
        c->key->path[i] = 0;
    else if (c->key->path[i] == 0)
        c->seen_nul = true;
    return 0;
}

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, struct vigil_unix_key);
} vigil_unix_scratch SEC(".maps");

/* A connected AF_UNIX socket: the pid of its peer's owner (the listener's SO_PEERCRED, set at
 * listen()), and whether it is outside `session`. The connect has happened (connect_unix runs before
 * the peer is found and cannot tell whose it is), but not returned: a crossing the session may not make
 * is SIGKILLed here, before the process can use the socket. */
static __always_inline void unix_peer(struct vigil_net_event *e, __u64 session, long fd)
{
    struct file *f = file_of_fd(bpf_get_current_task_btf(), fd);
    if (!f)
        return;
    struct socket *sock = (struct socket *)BPF_CORE_READ(f, private_data);
    struct pid *pid = BPF_CORE_READ(sock, sk, sk_peer_pid);
    if (!pid)
        return;
    int nr = 0;
    bpf_core_read(&nr, sizeof(nr), &pid->numbers[0].nr);
    if (nr <= 0 || session_of(nr) == session)
        return;
    e->hdr.flags |= VIGIL_F_PEER_OUTSIDE;
    e->peer_pid = nr;
    struct vigil_peer_rule *rule = bpf_map_lookup_elem(&vigil_peer_rules, &session);
    if (!rule || !rule->unix_deny)
        return;
    __u32 zero = 0;
    struct vigil_unix_key *key = bpf_map_lookup_elem(&vigil_unix_scratch, &zero);
    if (!key)
        return;
    key->session = session;
    key->pad = 0;
    __builtin_memcpy(key->path, e->unix_path, VIGIL_UNIX_PATH_MAX);
    struct unix_zero_ctx c = { .key = key };
    bpf_loop(VIGIL_UNIX_PATH_MAX, unix_zero_tail, &c, 0);
    if (key->path[0] != 0 && bpf_map_lookup_elem(&vigil_unix_allow, key))
        return;
    __u32 tgid = e->hdr.pid;
    e->hdr.flags |= VIGIL_F_PEER_REFUSED;
    if (bpf_map_lookup_elem(&vigil_roots, &tgid)) {
        e->hdr.flags |= VIGIL_F_SPARED;
        return;
    }
    /* Delivered before the return to user space: the socket is never used. */
    bpf_send_signal(SIGKILL);
    e->hdr.flags |= VIGIL_F_KILLED;
    count(VIGIL_CTR_PEER_DENIED);
}

static __always_inline void emit_net(__u16 kind, __u64 session, long ret, const void *uaddr, bool user,
                                     __u16 extra_flags, long fd)
{
    struct vigil_net_event e = {};
    fill_header(&e.hdr, kind, session);
    e.hdr.flags = extra_flags;
    e.hdr.size = sizeof(e);
    e.result = ret;
    fill_sockaddr(&e, uaddr, user);
    if (e.family == AF_INET || e.family == AF_INET6)
        take_peer_note(&e);
    else if (e.family == AF_UNIX && kind == VIGIL_EVENT_CONNECT && ret == 0 && fd >= 0)
        unix_peer(&e, session, fd);
    if (kind == VIGIL_EVENT_SEND) {
        if (e.family != AF_INET && e.family != AF_INET6)
            return;
        struct send_key key = { .tgid = e.hdr.pid, .family = e.family, .port = e.port };
        __builtin_memcpy(key.addr, e.addr, 16);
        __u8 one = 1;
        /* Already reported — unless the session boundary refused it: every refusal is seen. */
        if (bpf_map_update_elem(&vigil_send_seen, &key, &one, BPF_NOEXIST) != 0 &&
            !(e.hdr.flags & VIGIL_F_PEER_REFUSED))
            return;
    }
    emit(&e, sizeof(e), kind);
}

SEC("tp_btf/sys_exit")
int BPF_PROG(vigil_sys_exit, struct pt_regs *regs, long ret)
{
    if (tracked_sessions == 0)
        return 0;
    long nr = syscall_nr(regs);
    /* Filter on the syscall number before the (costlier) session lookup, and on the numbers
     * alone before the task is fetched: every syscall of every task runs this while a session is
     * tracked. */
    if (!syscall_may_be_reported(nr))
        return 0;
    struct task_struct *task = bpf_get_current_task_btf();
    bool compat = syscall_is_compat(task);
    if (!compat) {
        if (nr != NR_OPENAT && nr != NR_OPEN && nr != NR_CREAT && nr != NR_OPENAT2 && nr != NR_CONNECT &&
            nr != NR_SENDTO && nr != NR_SENDMSG)
            return 0;
    } else if (nr != NR32_OPEN && nr != NR32_OPENAT && nr != NR32_CREAT && nr != NR32_OPENAT2 && nr != NR32_CONNECT &&
               nr != NR32_SENDTO) {
        return 0;
    }
    __u64 session = session_of_task(task);
    if (!session)
        return 0;

    struct syscall_args a;
    syscall_args_of(regs, compat, &a);
    __u16 flags = compat ? VIGIL_F_COMPAT : 0;
    if (compat)
        nr = syscall_native_nr(nr);

    /* The four opens share one call of emit_open (it is inlined: one copy of the path walk
     * instead of four to verify and to keep in the instruction cache). */
    int dfd = AT_FDCWD;
    const char *upath = NULL;
    __u32 open_flags = 0, open_mode = 0;
    switch (nr) {
    case NR_OPEN:
        upath = (const char *)a.a[0];
        open_flags = a.a[1];
        open_mode = a.a[2];
        break;
    case NR_CREAT:
        upath = (const char *)a.a[0];
        open_flags = O_CREAT | O_WRONLY | O_TRUNC;
        open_mode = a.a[1];
        break;
    case NR_OPENAT:
        dfd = (int)a.a[0];
        upath = (const char *)a.a[1];
        open_flags = a.a[2];
        open_mode = a.a[3];
        break;
    case NR_OPENAT2: {
        struct open_how how = {};
        bpf_probe_read_user(&how, sizeof(how), (void *)a.a[2]);
        dfd = (int)a.a[0];
        upath = (const char *)a.a[1];
        open_flags = how.flags;
        open_mode = how.mode;
        break;
    }
    }
    if (nr == NR_OPEN || nr == NR_CREAT || nr == NR_OPENAT || nr == NR_OPENAT2) {
        emit_open(task, session, ret, dfd, upath, open_flags, open_mode, flags);
        return 0;
    }

    switch (nr) {
    case NR_CONNECT: emit_net(VIGIL_EVENT_CONNECT, session, ret, (void *)a.a[1], true, flags, (long)a.a[0]); break;
    case NR_SENDTO:
        if (a.a[4])
            emit_net(VIGIL_EVENT_SEND, session, ret, (void *)a.a[4], true, flags, -1);
        break;
    case NR_SENDMSG: {
        void *name = NULL;
        bpf_probe_read_user(&name, sizeof(name), (void *)a.a[1]); /* msghdr.msg_name */
        if (name)
            emit_net(VIGIL_EVENT_SEND, session, ret, name, true, flags, -1);
        break;
    }
    }
    return 0;
}

/* ---------------------------------------------------------------- reaching into other processes */

/* The thread-group id of the task `pid` names, in the caller's pid namespace (`vpid`) or the
 * initial one; 0 when there is none. */
static __always_inline __u32 tgid_of_pid(s32 pid, bool vpid)
{
    if (pid <= 0 || !bpf_ksym_exists(bpf_task_release))
        return 0;
    struct task_struct *t;
    if (vpid) {
        if (!bpf_ksym_exists(bpf_task_from_vpid))
            return 0;
        t = bpf_task_from_vpid(pid);
    } else {
        if (!bpf_ksym_exists(bpf_task_from_pid))
            return 0;
        t = bpf_task_from_pid(pid);
    }
    if (!t)
        return 0;
    __u32 tgid = t->tgid;
    bpf_task_release(t);
    return tgid;
}

/* The process a pidfd of the caller refers to: fd → struct file → (pidfs) struct pid → its pid
 * number in the initial namespace → thread-group id. 0 when `fd` is not a pidfd. */
static __always_inline __u32 tgid_of_pidfd(struct task_struct *task, long fd)
{
    struct file *file = file_of_fd(task, fd);
    if (!file)
        return 0;
    struct inode *inode = BPF_CORE_READ(file, f_inode);
    if (!inode || BPF_CORE_READ(inode, i_sb, s_magic) != PIDFS_MAGIC)
        return 0;
    /* pidfs keeps the struct pid in the inode; kernels before it (anon inodes), in the file. */
    struct pid *pid = BPF_CORE_READ(inode, i_private);
    if (!pid)
        pid = BPF_CORE_READ(file, private_data);
    if (!pid)
        return 0;
    int nr = 0;
    bpf_core_read(&nr, sizeof(nr), &pid->numbers[0].nr);
    return tgid_of_pid(nr, false);
}

SEC("tp_btf/sys_enter")
int BPF_PROG(vigil_sys_enter, struct pt_regs *regs, long nr)
{
    if (tracked_sessions == 0)
        return 0;
    /* The syscall number first: everything below runs only for these four calls. */
    if (!syscall_may_reach_process(nr))
        return 0;
    struct task_struct *task = bpf_get_current_task_btf();
    __u16 call = syscall_proc_call(nr, task);
    if (!call)
        return 0;
    __u32 tgid = task->tgid;
    __u64 session = session_of(tgid);
    if (!session)
        return 0;
    struct syscall_args a;
    syscall_args_of(regs, syscall_is_compat(task), &a);

    struct vigil_proc_access_event e = {};
    fill_header_of(&e.hdr, VIGIL_EVENT_PROC_ACCESS, session, task);
    e.hdr.size = sizeof(e);
    e.call = call;
    __u32 target = 0;
    bool attach = false;
    switch (call) {
    case VIGIL_PROC_PTRACE:
        e.request = (long)a.a[0];
        e.arg = (int)a.a[1];
        if (e.request == PTRACE_TRACEME) {
            target = task->real_parent->tgid; /* the tracer-to-be */
            attach = true;
        } else {
            target = tgid_of_pid((int)a.a[1], true);
            attach = e.request == PTRACE_ATTACH || e.request == PTRACE_SEIZE;
        }
        break;
    case VIGIL_PROC_VM_READV:
    case VIGIL_PROC_VM_WRITEV:
        e.arg = (int)a.a[0];
        target = tgid_of_pid((int)a.a[0], true);
        break;
    case VIGIL_PROC_PIDFD_GETFD:
        e.request = (int)a.a[0];
        e.arg = (int)a.a[1];
        target = tgid_of_pidfd(task, (int)a.a[0]);
        break;
    }
    e.target_pid = target;
    if (target)
        e.target_session = session_of(target);
    else
        e.hdr.flags |= VIGIL_F_TARGET_UNRESOLVED;
    if (target && e.target_session == session) {
        if (attach)
            emit(&e, sizeof(e), VIGIL_EVENT_PROC_ACCESS); /* allowed: a debugger on its own child */
        return 0;
    }
    /* Outside the session (or unknown): delivered before the return to user space, and pending
     * while the call runs, so the memory copies of process_vm_* and PEEK/POKE stop at their
     * first page (get_user_pages gives up on a fatal signal). */
    bpf_send_signal(SIGKILL);
    e.hdr.flags |= VIGIL_F_KILLED;
    count(VIGIL_CTR_PROC_ACCESS_KILLED);
    if (call == VIGIL_PROC_PTRACE && e.request == PTRACE_ATTACH && target && !group_stopped(target)) {
        __u32 tid = task->pid;
        struct attach_stop stop = { .target = target };
        if (bpf_map_update_elem(&vigil_attach_stops, &tid, &stop, BPF_NOEXIST) == 0)
            __sync_fetch_and_add(&attach_stops, 1);
    }
    emit(&e, sizeof(e), VIGIL_EVENT_PROC_ACCESS);
    return 0;
}

/* ---------------------------------------------------------------- io_uring */

#define IORING_OP_OPENAT 18
#define IORING_OP_CONNECT 16
#define IORING_OP_OPENAT2 28

struct uring_pending {
    __u64 session;
    __u32 tgid;
    __u32 tid;
    __u8 opcode;
    __u8 pad[3];
    __s32 dfd;
    __u32 flags;
    __u32 mode;
    char path[256]; /* the kernel's copy of the name, for opens that fail */
    __u8 sockaddr[128];
};
struct {
    __uint(type, BPF_MAP_TYPE_LRU_HASH);
    __uint(max_entries, 8192);
    __type(key, __u64); /* struct io_kiocb * */
    __type(value, struct uring_pending);
} vigil_uring_pending SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, struct uring_pending);
} vigil_uring_scratch SEC(".maps");

SEC("tp_btf/io_uring_submit_req")
int BPF_PROG(vigil_uring_submit, struct io_kiocb *req)
{
    __u64 session = current_session();
    if (!session)
        return 0;
    __u8 op = req->opcode;
    if (op != IORING_OP_OPENAT && op != IORING_OP_OPENAT2 && op != IORING_OP_CONNECT)
        return 0;
    __u32 zero = 0;
    struct uring_pending *p = bpf_map_lookup_elem(&vigil_uring_scratch, &zero);
    if (!p)
        return 0;
    __u64 pid_tgid = bpf_get_current_pid_tgid();
    p->session = session;
    p->tgid = pid_tgid >> 32;
    p->tid = (__u32)pid_tgid;
    p->opcode = op;
    if (op == IORING_OP_CONNECT) {
        /* The submitter's own address buffer (we run in its context, so its memory is
         * readable). Observation only: connect enforcement uses the cgroup hooks, which
         * see the kernel's copy. */
        struct io_connect *conn = (void *)&req->cmd;
        const void *uaddr = BPF_CORE_READ(conn, addr);
        bpf_probe_read_user(p->sockaddr, sizeof(p->sockaddr), uaddr);
    } else {
        struct io_open *open = (void *)&req->cmd;
        p->dfd = BPF_CORE_READ(open, dfd);
        p->flags = BPF_CORE_READ(open, how.flags);
        p->mode = BPF_CORE_READ(open, how.mode);
        const char *name = BPF_CORE_READ(open, filename, name);
        bpf_probe_read_kernel_str(p->path, sizeof(p->path), name);
    }
    __u64 key = (__u64)req;
    if (bpf_map_update_elem(&vigil_uring_pending, &key, p, BPF_ANY) != 0)
        count(VIGIL_CTR_URING_PENDING_FULL);
    return 0;
}

SEC("tp_btf/io_uring_complete")
int BPF_PROG(vigil_uring_complete, struct io_ring_ctx *ring, void *req, struct io_uring_cqe *cqe)
{
    if (tracked_sessions == 0)
        return 0;
    __u64 key = (__u64)req;
    struct uring_pending *p = bpf_map_lookup_elem(&vigil_uring_pending, &key);
    if (!p)
        return 0;
    long res = BPF_CORE_READ(cqe, res);
    if (p->opcode == IORING_OP_CONNECT) {
        emit_net(VIGIL_EVENT_CONNECT, p->session, res, p->sockaddr, false, VIGIL_F_IO_URING, -1);
    } else {
        struct scratch *s = scratch();
        if (!s)
            goto out;
        struct vigil_open_event h;
        h.hdr.kind = VIGIL_EVENT_OPEN;
        h.hdr.session = p->session;
        h.hdr.pid = p->tgid;
        h.hdr.tid = p->tid;
        h.hdr.flags = VIGIL_F_IO_URING;
        h.result = res;
        h.flags = p->flags;
        h.mode = p->mode;
        h.base_len = 0;
        h.pad = 0;
        /* Completions run in the submitter or one of its io-wq threads: same file table. */
        struct file *file = res >= 0 ? file_of_fd(bpf_get_current_task_btf(), res) : NULL;
        if (file) {
            emit_open_from_file(s, &h, file);
        } else {
            long n = bpf_probe_read_kernel_str(&s->event[sizeof(h)], sizeof(p->path), p->path);
            __u32 path_len = n > 0 ? (n - 1) & (sizeof(p->path) - 1) : 0;
            h.hdr.flags |= VIGIL_F_PATH_UNRESOLVED;
            h.path_len = path_len;
            h.hdr.size = sizeof(h) + path_len;
            stamp(&h.hdr);
            __builtin_memcpy(s->event, &h, sizeof(h));
            emit_from(s, s->event, sizeof(h) + path_len, VIGIL_EVENT_OPEN);
        }
    }
out:
    bpf_map_delete_elem(&vigil_uring_pending, &key);
    return 0;
}

/* ---------------------------------------------------------------- network enforcement */

struct {
    __uint(type, BPF_MAP_TYPE_LPM_TRIE);
    __uint(max_entries, 16384);
    __type(key, struct vigil_net_key);
    __type(value, struct vigil_net_rule);
    __uint(map_flags, BPF_F_NO_PREALLOC);
} vigil_net_rules SEC(".maps");

/* 1 lets the connect/send go on; 0 refuses it with EPERM. */
static __always_inline int net_verdict(__u64 session, __u32 port_be, const __u8 *addr)
{
    struct vigil_net_key key = { .prefixlen = 64 + 128, .session = session };
    __builtin_memcpy(key.addr, addr, 16);
    struct vigil_net_rule *rule = bpf_map_lookup_elem(&vigil_net_rules, &key);
    if (!rule)
        return 1;
    __u16 port = bpf_ntohs((__u16)port_be);
    for (int i = 0; i < VIGIL_NET_RANGES; i++) {
        if (i >= rule->count)
            break;
        if (port >= rule->ranges[i].low && port <= rule->ranges[i].high) {
            count(VIGIL_CTR_NET_DENIED);
            return 0;
        }
    }
    return 1;
}

/* ---------------------------------------------------------------- the session boundary
 * A connect or datagram to a local address whose socket belongs to a process outside the session
 * hands work to that process (a proxy, a forwarder, a job runner, a database): a crossing. The
 * listener is found with bpf_sk_lookup_tcp/udp, its cgroup tells whose it is (a socket keeps the
 * cgroup of the process that created it). These programs run only on session cgroups: processes
 * outside every session never pay for them. */

#define IPPROTO_TCP 6
#define IPPROTO_UDP 17

extern void *bpf_rdonly_cast(const void *obj, __u32 btf_id) __ksym __weak;

/* Loopback (127/8, ::1, ::ffff:127/104) or unspecified (0.0.0.0, ::, which connect to the host
 * itself): the 128-bit form. Returns the address to look up (unspecified becomes loopback, as the
 * kernel routes it) in `v4` / `v6`, and whether it is IPv4. 0: not local. */
static __always_inline int local_address(const __u8 *a, __u32 *v4, __u32 *v6)
{
    __u32 w0, w1, w2, w3;
    __builtin_memcpy(&w0, a, 4);
    __builtin_memcpy(&w1, a + 4, 4);
    __builtin_memcpy(&w2, a + 8, 4);
    __builtin_memcpy(&w3, a + 12, 4);
    if (w0 != 0 || w1 != 0)
        return 0;
    if (w2 == bpf_htonl(0xffff)) {
        if (a[12] == 127) {
            *v4 = w3;
            return 4;
        }
        if (w3 == 0) {
            *v4 = bpf_htonl(0x7f000001);
            return 4;
        }
        return 0;
    }
    if (w2 != 0 || (w3 != 0 && w3 != bpf_htonl(1)))
        return 0;
    v6[0] = 0;
    v6[1] = 0;
    v6[2] = 0;
    v6[3] = bpf_htonl(1);
    return 6;
}

/* 1 lets it go on, 0 refuses it (EPERM). */
static __always_inline int peer_verdict(struct bpf_sock_addr *ctx, __u64 session, const __u8 *addr)
{
    struct vigil_peer_rule *rule = bpf_map_lookup_elem(&vigil_peer_rules, &session);
    if (!rule)
        return 1;
    __u32 v4 = 0, v6[4];
    int version = local_address(addr, &v4, v6);
    if (!version)
        return 1;
    __u32 protocol = ctx->protocol;
    if (protocol != IPPROTO_TCP && protocol != IPPROTO_UDP)
        return 1;
    __u16 port_be = (__u16)ctx->user_port;
    struct bpf_sock_tuple tuple = {};
    __u32 size;
    if (version == 4) {
        tuple.ipv4.daddr = v4;
        tuple.ipv4.dport = port_be;
        size = sizeof(tuple.ipv4);
    } else {
        __builtin_memcpy(tuple.ipv6.daddr, v6, 16);
        tuple.ipv6.dport = port_be;
        size = sizeof(tuple.ipv6);
    }
    struct bpf_sock *sk = protocol == IPPROTO_TCP ? bpf_sk_lookup_tcp(ctx, &tuple, size, BPF_F_CURRENT_NETNS, 0)
                                                  : bpf_sk_lookup_udp(ctx, &tuple, size, BPF_F_CURRENT_NETNS, 0);
    if (!sk)
        return 1; /* nothing is bound there: no one to hand work to */
    /* bpf_sk_cgroup_id and bpf_sk_ancestor_cgroup_id are not offered to sock_addr programs: the
     * socket's cgroup is read through BTF (a read-only view of the struct sock). */
    struct peer_note note = { .port = port_be, .flags = VIGIL_F_PEER_OUTSIDE };
    bool inside = false;
    if (bpf_ksym_exists(bpf_rdonly_cast)) {
        struct sock *s = bpf_rdonly_cast(sk, bpf_core_type_id_kernel(struct sock));
        struct cgroup *cg = s->sk_cgrp_data.cgroup;
        if (cg) {
            note.cgroup = cg->kn->id;
            __u32 level = rule->cgroup_level;
            if (cg->level >= (int)level && level < 256) {
                struct cgroup *ancestor = NULL;
                __u64 slot =
                    (__u64)cg + bpf_core_field_offset(struct cgroup, ancestors) + (__u64)level * sizeof(void *);
                bpf_probe_read_kernel(&ancestor, sizeof(ancestor), (void *)slot);
                inside = ancestor && BPF_CORE_READ(ancestor, kn, id) == rule->cgroup_id;
            }
        }
        struct socket *sock = s->sk_socket;
        if (sock) {
            struct file *f = sock->file;
            if (f)
                note.ino = f->f_inode->i_ino;
        }
    }
    bpf_sk_release(sk);
    if (inside)
        return 1;
    count(VIGIL_CTR_PEER_OUTSIDE);
    __u16 port = bpf_ntohs(port_be);
    int verdict = 1;
    for (int i = 0; i < VIGIL_NET_RANGES; i++) {
        if (i >= rule->count)
            break;
        if (port >= rule->ranges[i].low && port <= rule->ranges[i].high) {
            note.flags |= VIGIL_F_PEER_REFUSED;
            count(VIGIL_CTR_PEER_DENIED);
            verdict = 0;
            break;
        }
    }
    struct peer_note *stored =
        bpf_task_storage_get(&vigil_peer_notes, bpf_get_current_task_btf(), 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
    if (stored)
        *stored = note;
    return verdict;
}

static __always_inline int sock_verdict(struct bpf_sock_addr *ctx, const __u8 *addr)
{
    __u32 tgid = bpf_get_current_pid_tgid() >> 32;
    struct vigil_session_tag *tag = bpf_map_lookup_elem(&vigil_tracked, &tgid);
    if (!tag)
        return 1;
    __u64 session = tag->session;
    if (!net_verdict(session, ctx->user_port, addr))
        return 0;
    return peer_verdict(ctx, session, addr);
}

static __always_inline int verdict4(struct bpf_sock_addr *ctx)
{
    __u8 addr[16] = {};
    addr[10] = 0xff;
    addr[11] = 0xff;
    __u32 ip = ctx->user_ip4;
    __builtin_memcpy(&addr[12], &ip, 4);
    return sock_verdict(ctx, addr);
}

static __always_inline int verdict6(struct bpf_sock_addr *ctx)
{
    __u32 ip[4];
    ip[0] = ctx->user_ip6[0];
    ip[1] = ctx->user_ip6[1];
    ip[2] = ctx->user_ip6[2];
    ip[3] = ctx->user_ip6[3];
    return sock_verdict(ctx, (const __u8 *)ip);
}

SEC("cgroup/connect4")
int vigil_connect4(struct bpf_sock_addr *ctx)
{
    return verdict4(ctx);
}

SEC("cgroup/connect6")
int vigil_connect6(struct bpf_sock_addr *ctx)
{
    return verdict6(ctx);
}

SEC("cgroup/sendmsg4")
int vigil_sendmsg4(struct bpf_sock_addr *ctx)
{
    return verdict4(ctx);
}

SEC("cgroup/sendmsg6")
int vigil_sendmsg6(struct bpf_sock_addr *ctx)
{
    return verdict6(ctx);
}
