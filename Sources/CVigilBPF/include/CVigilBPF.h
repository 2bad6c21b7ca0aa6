/* SPDX-License-Identifier: Apache-2.0 */
/*
 * CVigilBPF — the only C that Swift sees. An opaque handle over the BPF skeleton and a few
 * prefixed functions; every pointer is annotated; errors come back as negative errno values
 * with a message written into a caller-provided buffer.
 */
#ifndef CVIGILBPF_H
#define CVIGILBPF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "vigil_abi.h"

#pragma clang assume_nonnull begin

typedef struct vigil_bpf vigil_bpf;

struct vigil_bpf_options {
    bool exec_all;         /* exec events for processes outside every session */
    bool io_uring;         /* attach the io_uring programs (degraded mode without them) */
    uint32_t ring_bytes;   /* ring buffer size, a power of two */
    uint32_t wakeup_every; /* records per CPU between forced consumer wakeups (0: default 4096) */
};

/* Opens, loads and attaches the sensor. NULL on failure, with `err` naming the program and reason. */
vigil_bpf *_Nullable vigil_bpf_open(const struct vigil_bpf_options *opts, char *err, size_t err_len);
void vigil_bpf_close(vigil_bpf *_Nullable bpf);

/* The programs of the sensor, for status and bpf_stats. */
int vigil_bpf_program_count(const vigil_bpf *bpf);
const char *vigil_bpf_program_name(const vigil_bpf *bpf, int index);
/* 0 when attached, else -errno of the load or attach failure. */
int vigil_bpf_program_error(const vigil_bpf *bpf, int index);
int vigil_bpf_program_stats(const vigil_bpf *bpf, int index, uint64_t *run_count, uint64_t *run_time_ns);

/* Session membership, keyed by thread-group id. */
int vigil_bpf_track(vigil_bpf *bpf, uint32_t pid, uint64_t session);
int vigil_bpf_untrack(vigil_bpf *bpf, uint32_t pid);
/* Whether `pid` is in a session (0 if not). */
uint64_t vigil_bpf_session_of(vigil_bpf *bpf, uint32_t pid);
/* Entries in the session map, and the sum of the tracked-hint slots (equal when no tag is
 * changing): for tests and health checks. */
int vigil_bpf_tag_accounting(vigil_bpf *bpf, uint64_t *entries, uint64_t *hinted);
void vigil_bpf_set_tracked_sessions(vigil_bpf *bpf, uint32_t count);

/* Sums the per-CPU counters (enum vigil_counter) into `out[0..<count]`. */
int vigil_bpf_read_counters(vigil_bpf *bpf, uint64_t *out, size_t count);

/*
 * Waits up to `timeout_ms` for records and copies every available record (up to an internal
 * cap) into one contiguous batch: records back to back, each starting with its header.
 * Returns the number of records (0 on timeout) or -errno. The batch stays valid until the
 * next poll.
 */
int vigil_bpf_poll(vigil_bpf *bpf, int timeout_ms, const uint8_t *_Nullable *_Nonnull batch, size_t *batch_len);

/* Network enforcement: the cgroup connect/sendmsg hooks on one session's cgroup. */
typedef struct vigil_cgroup_links vigil_cgroup_links;
vigil_cgroup_links *_Nullable vigil_bpf_attach_cgroup(vigil_bpf *bpf, int cgroup_fd, char *err, size_t err_len);
void vigil_cgroup_links_destroy(vigil_cgroup_links *_Nullable links);
/* Denies connects/sends of `session` to addr/prefix_bits (128-bit form) on the port ranges
 * given as (low, high) pairs; the caller merges the ranges of enclosing networks in. */
int vigil_bpf_set_net_rule(vigil_bpf *bpf, uint64_t session, const uint8_t addr[_Nonnull 16], uint32_t prefix_bits,
                           const uint16_t *ranges, uint32_t range_count);
/* Removes every network rule of `session`; returns how many. */
int vigil_bpf_clear_net_rules(vigil_bpf *bpf, uint64_t session);
/* The session boundary of `session`: its cgroup (id and depth) and the port ranges (low, high pairs)
 * of local peers outside it that it may not reach. */
int vigil_bpf_set_peer_rule(vigil_bpf *bpf, uint64_t session, uint64_t cgroup_id, uint32_t cgroup_level,
                            const uint16_t *ranges, uint32_t range_count, uint32_t unix_deny);
int vigil_bpf_clear_peer_rule(vigil_bpf *bpf, uint64_t session);
/* An AF_UNIX path `session` may reach outside itself when unix_deny is set (exact). */
int vigil_bpf_set_unix_allow(vigil_bpf *bpf, uint64_t session, const char *path);

/* Exec(name) deny rules of `session`: a match is SIGKILLed in the kernel at exec. */
int vigil_bpf_set_exec_kill(vigil_bpf *bpf, uint64_t session, const char *name);
int vigil_bpf_clear_exec_kills(vigil_bpf *bpf, uint64_t session);

/* Open(**\/NAME) deny rules of `session`: the opener is SIGKILLed at syscall exit, except a
 * session root (`vigil_bpf_set_root`), which is only flagged. */
int vigil_bpf_set_open_kill(vigil_bpf *bpf, uint64_t session, const char *name);
int vigil_bpf_clear_open_kills(vigil_bpf *bpf, uint64_t session);
int vigil_bpf_set_root(vigil_bpf *bpf, uint32_t pid, bool root);

/* The ring records' fields as this compiler lays them out (abi_check.c): for the layout test
 * that checks the Swift decoder's offsets field by field. */
struct vigil_abi_field {
    const char *record; /* struct name, e.g. "vigil_exec_event" */
    const char *field;
    uint32_t offset;
    uint32_t size;
    uint32_t record_size;
};
const struct vigil_abi_field *vigil_abi_fields(size_t *count);

/* Feature probes, each run on its own: 0 when the program type loads and attaches here. */
struct vigil_bpf_features {
    int tp_btf;
    int fentry;
    int lsm;
    int cgroup_sock_addr;
};
void vigil_bpf_probe_features(struct vigil_bpf_features *out);

/* The account a gated child becomes before it waits at the gate (its groups already resolved:
 * initgroups reads /etc/group, which the child may not do). */
struct vigil_spawn_credentials {
    uid_t uid;
    gid_t gid;
    size_t group_count;
    const gid_t *_Nullable groups;
};

/*
 * Forks a child that joins the cgroup behind `cgroup_procs_fd` (if >= 0), takes `credentials`
 * (if not NULL: groups, gid, then uid, for good), waits until the parent writes one byte to
 * `*gate_fd`, then execs `path`. `*exec_error_fd` reads 4 bytes of errno if joining, the
 * credentials or exec fail, or EOF once exec succeeded. Async-signal-safe in the child.
 */
int vigil_spawn_gated(const char *path, char *_Nullable const argv[_Nonnull], char *_Nullable const envp[_Nonnull],
                      int cgroup_procs_fd, const struct vigil_spawn_credentials *_Nullable credentials, pid_t *pid,
                      int *gate_fd, int *exec_error_fd);

#pragma clang assume_nonnull end

#endif
