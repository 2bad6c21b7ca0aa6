/* SPDX-License-Identifier: GPL-2.0-only OR Apache-2.0 */
/*
 * vigil_abi.h — THE kernel <-> user-space ABI of Vigil's sensor.
 *
 * Every ring-buffer record starts with `struct vigil_event_header`; `size` covers the
 * header, the fixed body and the variable tail. Kind numbers are stable: never reuse or
 * renumber one. Layouts are checked with _Static_assert here (BPF and C glue) and by a
 * Swift test against the offsets the Swift decoder uses.
 */
#ifndef VIGIL_ABI_H
#define VIGIL_ABI_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define VIGIL_ABI_VERSION 3

/* Bounds of the variable parts of a record. */
#define VIGIL_PATH_MAX 4096 /* a resolved path, NUL not included */
#define VIGIL_ARGV_MAX 4096 /* argv bytes, NUL-separated as in /proc/PID/cmdline */
#define VIGIL_UNIX_PATH_MAX 108

enum vigil_event_kind {
    VIGIL_EVENT_EXEC = 1,
    VIGIL_EVENT_FORK = 2,
    VIGIL_EVENT_EXIT = 3,
    VIGIL_EVENT_OPEN = 4,
    VIGIL_EVENT_CONNECT = 5,
    VIGIL_EVENT_SEND = 6,
    VIGIL_EVENT_PROC_ACCESS = 7,
    VIGIL_EVENT_KIND_MAX = 8,
};

/* The calls of VIGIL_EVENT_PROC_ACCESS (vigil_proc_access_event.call). Stable numbers. */
enum vigil_proc_call {
    VIGIL_PROC_PTRACE = 1,
    VIGIL_PROC_VM_READV = 2,
    VIGIL_PROC_VM_WRITEV = 3,
    VIGIL_PROC_PIDFD_GETFD = 4,
};

/* Header flags (bit set in vigil_event_header.flags). */
enum vigil_event_flag {
    VIGIL_F_PATH_TRUNCATED = 1 << 0,  /* path longer than VIGIL_PATH_MAX or deeper than the walk */
    VIGIL_F_ARGV_TRUNCATED = 1 << 1,  /* argv longer than VIGIL_ARGV_MAX */
    VIGIL_F_IO_URING = 1 << 2,        /* the action came through io_uring, not a syscall */
    VIGIL_F_COMPAT = 1 << 3,          /* a 32-bit (int 0x80 / compat) syscall */
    VIGIL_F_PATH_FROM_FILE = 1 << 4,  /* path resolved from the kernel's struct file */
    VIGIL_F_PATH_UNRESOLVED = 1 << 5, /* path is the caller's string; base holds the dir it is relative to */
    VIGIL_F_UNTRACKED = 1 << 6,       /* exec of a process outside every session */
    VIGIL_F_EXE_UNLINKED = 1 << 7,    /* exec of an inode with no links (memfd, deleted file) */
    VIGIL_F_KILLED = 1 << 8,    /* SIGKILLed in the kernel before its first instruction / before the fd was used */
    VIGIL_F_SPARED = 1 << 9,    /* matched an in-kernel kill rule but is a session root: flagged only */
    VIGIL_F_EXE_STAT = 1 << 10, /* exec: exe_size, exe_mtime_* and exe_ctime_* are filled */
    VIGIL_F_TARGET_UNRESOLVED = 1 << 11, /* proc access: the target could not be resolved (taken as outside) */
    VIGIL_F_PEER_OUTSIDE = 1 << 12,      /* connect/send: a local socket outside the session is bound to the
                                     * destination (peer_cgroup, peer_ino filled; for AF_UNIX, peer_pid): a
                                     * session-boundary crossing */
    VIGIL_F_PEER_REFUSED = 1 << 13,      /* ... refused (EPERM) by the session boundary (vigil_peer_rules) */
    VIGIL_F_FIFO = 1 << 14,              /* open: the file opened is a FIFO (a named pipe) */
};

/* Counters in the `vigil_counters` per-CPU array. Drops are indexed by event kind. */
enum vigil_counter {
    VIGIL_CTR_EMITTED_BASE = 0,                        /* + kind: records submitted */
    VIGIL_CTR_DROPPED_BASE = VIGIL_EVENT_KIND_MAX,     /* + kind: ring buffer full */
    VIGIL_CTR_TRACK_FAILED = 2 * VIGIL_EVENT_KIND_MAX, /* session map full: a child could not be tagged */
    VIGIL_CTR_PATH_TRUNCATED,
    VIGIL_CTR_ARGV_TRUNCATED,
    VIGIL_CTR_URING_PENDING_FULL, /* io_uring request could not be stashed for its completion */
    VIGIL_CTR_NET_DENIED,         /* connects/sends refused (EPERM) by the cgroup hooks */
    VIGIL_CTR_EXEC_KILLED,        /* execs SIGKILLed in the kernel */
    VIGIL_CTR_OPEN_KILLED,        /* openers SIGKILLed in the kernel at syscall exit */
    VIGIL_CTR_PROC_ACCESS_KILLED, /* ptrace, process_vm_* and pidfd_getfd callers SIGKILLed at entry */
    VIGIL_CTR_PEER_OUTSIDE,       /* connects/sends to a local socket outside the session (crossings) */
    VIGIL_CTR_PEER_DENIED,        /* ... of them refused (EPERM) by the session boundary */
    VIGIL_CTR_MAX,
};

struct vigil_event_header {
    __u16 kind;
    __u16 flags;
    __u32 size;
    __u64 ktime_ns; /* bpf_ktime_get_ns(): CLOCK_MONOTONIC */
    __u32 pid;      /* thread-group id */
    __u32 tid;
    __u64 session; /* 0 when the process is outside every session */
};

/* VIGIL_EVENT_EXEC. Tail: path[path_len] then argv[argv_len]. */
struct vigil_exec_event {
    struct vigil_event_header hdr;
    __u32 ppid;
    __u32 uid;
    __u32 gid;
    __u32 old_tid;
    __u64 cgroup_id;
    __u64 exe_dev; /* kernel dev_t: major << 20 | minor */
    __u64 exe_ino;
    __u16 path_len;
    __u16 argv_len;
    __u32 argc;
    /* The executed inode's size, mtime and ctime at exec (VIGIL_F_EXE_STAT): with dev and ino,
     * the key of user space's hash cache, so a known binary is recognised without a syscall.
     * ctime is in the key because no one can set it back (mtime can be, with utimensat). */
    __s64 exe_size;
    __s64 exe_mtime_sec;
    __s64 exe_ctime_sec;
    __u32 exe_mtime_nsec;
    __u32 exe_ctime_nsec;
};

/* VIGIL_EVENT_FORK. hdr.pid is the parent. */
struct vigil_fork_event {
    struct vigil_event_header hdr;
    __u32 child_pid;
    __u32 pad;
};

/* VIGIL_EVENT_EXIT. */
struct vigil_exit_event {
    struct vigil_event_header hdr;
    __u32 exit_code; /* kernel encoding: (status << 8) | signal */
    __u32 pad;
};

/* VIGIL_EVENT_OPEN. Tail: path[path_len] then base[base_len] (see VIGIL_F_PATH_UNRESOLVED). */
struct vigil_open_event {
    struct vigil_event_header hdr;
    __s64 result; /* fd or -errno */
    __u32 flags;  /* open(2) flags as asked */
    __u32 mode;
    __u16 path_len;
    __u16 base_len;
    __u32 pad;
};

/* VIGIL_EVENT_CONNECT and VIGIL_EVENT_SEND. */
struct vigil_net_event {
    struct vigil_event_header hdr;
    __s64 result;   /* 0 or -errno for connect; bytes or -errno for send */
    __u16 family;   /* AF_INET, AF_INET6, AF_UNIX */
    __u16 port;     /* host byte order */
    __u32 peer_pid; /* VIGIL_F_PEER_OUTSIDE on an AF_UNIX connect: the listener's owner (its SO_PEERCRED pid) */
    __u8 addr[16];  /* IPv4 in the first 4 bytes, network order */
    char unix_path[VIGIL_UNIX_PATH_MAX];
    __u32 pad_end; /* the padding to 8-byte alignment, named so it is never implicit */
    /* VIGIL_F_PEER_OUTSIDE: the local socket bound to the destination (the listener of a loopback
     * TCP connect, the receiver of a UDP datagram) — its cgroup and its inode (`socket:[ino]` in
     * /proc/PID/fd, which names the peer process). 0 otherwise. */
    __u64 peer_cgroup;
    __u64 peer_ino;
};

/* VIGIL_EVENT_PROC_ACCESS: a session process calls ptrace, process_vm_readv/writev or pidfd_getfd.
 * Reported at syscall entry when the target is outside the caller's session (the caller is then
 * SIGKILLed: VIGIL_F_KILLED), and for attaches (PTRACE_ATTACH, SEIZE, TRACEME) inside it (allowed). */
struct vigil_proc_access_event {
    struct vigil_event_header hdr;
    __u16 call; /* enum vigil_proc_call */
    __u16 pad;
    __s32 target_pid;     /* the target's thread-group id (global); 0 with VIGIL_F_TARGET_UNRESOLVED */
    __s64 request;        /* ptrace: the request; pidfd_getfd: the pidfd; else 0 */
    __s64 arg;            /* ptrace, process_vm_*: the pid as passed; pidfd_getfd: the fd asked for */
    __u64 target_session; /* the target's session, 0 when outside every session */
};

/* Every size and every field's offset, as the Swift decoder reads them (VigilCore's EventLayout):
 * a change here fails the build of the BPF object and of the C glue until both sides agree. */
#define VIGIL_ASSERT_SIZE(type, n) _Static_assert(sizeof(type) == (n), #type " size changed: update the Swift decoder")
#define VIGIL_ASSERT_OFFSET(type, field, n)                                                                            \
    _Static_assert(__builtin_offsetof(type, field) == (n), #type "." #field " moved: update the Swift decoder")
VIGIL_ASSERT_SIZE(struct vigil_event_header, 32);
VIGIL_ASSERT_OFFSET(struct vigil_event_header, kind, 0);
VIGIL_ASSERT_OFFSET(struct vigil_event_header, flags, 2);
VIGIL_ASSERT_OFFSET(struct vigil_event_header, size, 4);
VIGIL_ASSERT_OFFSET(struct vigil_event_header, ktime_ns, 8);
VIGIL_ASSERT_OFFSET(struct vigil_event_header, pid, 16);
VIGIL_ASSERT_OFFSET(struct vigil_event_header, tid, 20);
VIGIL_ASSERT_OFFSET(struct vigil_event_header, session, 24);

VIGIL_ASSERT_SIZE(struct vigil_exec_event, 112);
VIGIL_ASSERT_OFFSET(struct vigil_exec_event, hdr, 0);
VIGIL_ASSERT_OFFSET(struct vigil_exec_event, ppid, 32);
VIGIL_ASSERT_OFFSET(struct vigil_exec_event, uid, 36);
VIGIL_ASSERT_OFFSET(struct vigil_exec_event, gid, 40);
VIGIL_ASSERT_OFFSET(struct vigil_exec_event, old_tid, 44);
VIGIL_ASSERT_OFFSET(struct vigil_exec_event, cgroup_id, 48);
VIGIL_ASSERT_OFFSET(struct vigil_exec_event, exe_dev, 56);
VIGIL_ASSERT_OFFSET(struct vigil_exec_event, exe_ino, 64);
VIGIL_ASSERT_OFFSET(struct vigil_exec_event, path_len, 72);
VIGIL_ASSERT_OFFSET(struct vigil_exec_event, argv_len, 74);
VIGIL_ASSERT_OFFSET(struct vigil_exec_event, argc, 76);
VIGIL_ASSERT_OFFSET(struct vigil_exec_event, exe_size, 80);
VIGIL_ASSERT_OFFSET(struct vigil_exec_event, exe_mtime_sec, 88);
VIGIL_ASSERT_OFFSET(struct vigil_exec_event, exe_ctime_sec, 96);
VIGIL_ASSERT_OFFSET(struct vigil_exec_event, exe_mtime_nsec, 104);
VIGIL_ASSERT_OFFSET(struct vigil_exec_event, exe_ctime_nsec, 108);

VIGIL_ASSERT_SIZE(struct vigil_fork_event, 40);
VIGIL_ASSERT_OFFSET(struct vigil_fork_event, hdr, 0);
VIGIL_ASSERT_OFFSET(struct vigil_fork_event, child_pid, 32);
VIGIL_ASSERT_OFFSET(struct vigil_fork_event, pad, 36);

VIGIL_ASSERT_SIZE(struct vigil_exit_event, 40);
VIGIL_ASSERT_OFFSET(struct vigil_exit_event, hdr, 0);
VIGIL_ASSERT_OFFSET(struct vigil_exit_event, exit_code, 32);
VIGIL_ASSERT_OFFSET(struct vigil_exit_event, pad, 36);

VIGIL_ASSERT_SIZE(struct vigil_open_event, 56);
VIGIL_ASSERT_OFFSET(struct vigil_open_event, hdr, 0);
VIGIL_ASSERT_OFFSET(struct vigil_open_event, result, 32);
VIGIL_ASSERT_OFFSET(struct vigil_open_event, flags, 40);
VIGIL_ASSERT_OFFSET(struct vigil_open_event, mode, 44);
VIGIL_ASSERT_OFFSET(struct vigil_open_event, path_len, 48);
VIGIL_ASSERT_OFFSET(struct vigil_open_event, base_len, 50);
VIGIL_ASSERT_OFFSET(struct vigil_open_event, pad, 52);

VIGIL_ASSERT_SIZE(struct vigil_net_event, 192);
VIGIL_ASSERT_OFFSET(struct vigil_net_event, hdr, 0);
VIGIL_ASSERT_OFFSET(struct vigil_net_event, result, 32);
VIGIL_ASSERT_OFFSET(struct vigil_net_event, family, 40);
VIGIL_ASSERT_OFFSET(struct vigil_net_event, port, 42);
VIGIL_ASSERT_OFFSET(struct vigil_net_event, peer_pid, 44);
VIGIL_ASSERT_OFFSET(struct vigil_net_event, addr, 48);
VIGIL_ASSERT_OFFSET(struct vigil_net_event, unix_path, 64);
VIGIL_ASSERT_OFFSET(struct vigil_net_event, pad_end, 172);
VIGIL_ASSERT_OFFSET(struct vigil_net_event, peer_cgroup, 176);
VIGIL_ASSERT_OFFSET(struct vigil_net_event, peer_ino, 184);

VIGIL_ASSERT_SIZE(struct vigil_proc_access_event, 64);
VIGIL_ASSERT_OFFSET(struct vigil_proc_access_event, hdr, 0);
VIGIL_ASSERT_OFFSET(struct vigil_proc_access_event, call, 32);
VIGIL_ASSERT_OFFSET(struct vigil_proc_access_event, pad, 34);
VIGIL_ASSERT_OFFSET(struct vigil_proc_access_event, target_pid, 36);
VIGIL_ASSERT_OFFSET(struct vigil_proc_access_event, request, 40);
VIGIL_ASSERT_OFFSET(struct vigil_proc_access_event, arg, 48);
VIGIL_ASSERT_OFFSET(struct vigil_proc_access_event, target_session, 56);

/* `vigil_net_rules`: an LPM trie keyed by session then address (IPv4 as ::ffff:a.b.c.d), so
 * prefixlen = 64 + the address prefix over 128 bits. The entry found (the longest prefix) holds
 * every denied port range of the rules whose network contains it, merged by user space. */
#define VIGIL_NET_RANGES 16
struct vigil_net_key {
    __u32 prefixlen;
    __u64 session;
    __u8 addr[16];
} __attribute__((packed));

struct vigil_port_range {
    __u16 low;
    __u16 high; /* inclusive */
};

struct vigil_net_rule {
    __u32 count;
    struct vigil_port_range ranges[VIGIL_NET_RANGES];
};

VIGIL_ASSERT_SIZE(struct vigil_net_key, 28);
VIGIL_ASSERT_OFFSET(struct vigil_net_key, prefixlen, 0);
VIGIL_ASSERT_OFFSET(struct vigil_net_key, session, 4);
VIGIL_ASSERT_OFFSET(struct vigil_net_key, addr, 12);
VIGIL_ASSERT_SIZE(struct vigil_port_range, 4);
VIGIL_ASSERT_OFFSET(struct vigil_port_range, low, 0);
VIGIL_ASSERT_OFFSET(struct vigil_port_range, high, 2);
VIGIL_ASSERT_SIZE(struct vigil_net_rule, 68);
VIGIL_ASSERT_OFFSET(struct vigil_net_rule, count, 0);
VIGIL_ASSERT_OFFSET(struct vigil_net_rule, ranges, 4);

/* `vigil_peer_rules`, keyed by session: the session boundary. A connect or datagram of the session
 * to a local address (loopback, unspecified) whose socket was created outside the session's
 * cgroup (`cgroup_id` at depth `cgroup_level`, or below it) is a crossing: recorded, and refused
 * with EPERM when its port is in `ranges` (user space has subtracted the allowed peers). */
struct vigil_peer_rule {
    __u64 cgroup_id;
    __u32 cgroup_level;
    __u32 count;
    struct vigil_port_range ranges[VIGIL_NET_RANGES];
    /* 1: a connected AF_UNIX socket whose listener's owner is outside the session is SIGKILLed at the
     * connect's syscall exit (before it returns to user space with the socket) unless its path is in
     * `vigil_unix_allow`; a session root is spared (flagged). */
    __u32 unix_deny;
    __u32 pad;
};
VIGIL_ASSERT_SIZE(struct vigil_peer_rule, 88);
VIGIL_ASSERT_OFFSET(struct vigil_peer_rule, unix_deny, 80);
VIGIL_ASSERT_OFFSET(struct vigil_peer_rule, cgroup_id, 0);
VIGIL_ASSERT_OFFSET(struct vigil_peer_rule, cgroup_level, 8);
VIGIL_ASSERT_OFFSET(struct vigil_peer_rule, count, 12);
VIGIL_ASSERT_OFFSET(struct vigil_peer_rule, ranges, 16);

/* `vigil_unix_allow`: AF_UNIX paths a session may reach outside itself (exact, NUL-padded). */
struct vigil_unix_key {
    __u64 session;
    char path[VIGIL_UNIX_PATH_MAX];
    __u32 pad;
};
VIGIL_ASSERT_SIZE(struct vigil_unix_key, 120);
VIGIL_ASSERT_OFFSET(struct vigil_unix_key, path, 8);

/* `tracked_hint`: for each slot (tgid % VIGIL_HINT_SLOTS), how many tgids in `vigil_tracked`
 * fall in it. Zero means "no process of that slot is tagged", which every handler checks before
 * the hash lookup: the lookup of a tgid not in the map touches a cold bucket of a 1 MiB table
 * (~350 ns at exec, measured), the hint one line of one page. Raised before an entry is added and
 * lowered after one is removed, by BPF and user space alike, so it is never zero while an entry
 * of its slot exists; a stale excess only costs a lookup. */
#define VIGIL_HINT_SLOTS 1024

/* `vigil_exec_kill`: binary names a session may not run (Exec(name) deny rules). A match at
 * exec is SIGKILLed in the kernel before the new image runs its first instruction — the
 * backstop for binaries fanotify could not mark (a copy made after the marks were placed). */
#define VIGIL_EXEC_NAME_MAX 48
struct vigil_exec_key {
    __u64 session;
    char name[VIGIL_EXEC_NAME_MAX];
};
VIGIL_ASSERT_SIZE(struct vigil_exec_key, 56);
VIGIL_ASSERT_OFFSET(struct vigil_exec_key, session, 0);
VIGIL_ASSERT_OFFSET(struct vigil_exec_key, name, 8);

/* `vigil_open_kill` uses the same key: file names (the last path component) a session may not
 * open, from Open(**\/NAME) rules. The opener is SIGKILLed at syscall exit, before it returns to
 * user space with the descriptor — unless it is a session root (`vigil_roots`), which is flagged. */

/* Value of the `vigil_tracked` map, keyed by thread-group id. */
struct vigil_session_tag {
    __u64 session;
};
VIGIL_ASSERT_SIZE(struct vigil_session_tag, 8);
VIGIL_ASSERT_OFFSET(struct vigil_session_tag, session, 0);

#endif /* VIGIL_ABI_H */
