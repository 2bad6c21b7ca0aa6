// SPDX-License-Identifier: Apache-2.0
/* The BPF skeleton behind an opaque handle: open, load, attach, poll, counters, probes. */
#include "CVigilBPF.h"

#include <errno.h>
#include <stddef.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "generated/vigil.skel.h"
#include "generated/probe.skel.h"

#define BATCH_CAP (8u << 20) /* bytes copied per poll; the rest waits in the ring */
#define MAX_PROGRAMS 16

struct vigil_bpf {
    struct vigil_skel *skel;
    struct ring_buffer *ring;
    int program_count;
    struct bpf_program *programs[MAX_PROGRAMS];
    int program_errors[MAX_PROGRAMS];
    struct bpf_link *links[MAX_PROGRAMS];
    uint8_t *batch;
    size_t batch_len, batch_cap;
    int batch_records;
    int cpus;
};

/* libbpf's messages: the last warning is kept so a failure can say why. */
static char last_libbpf_message[512];
static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list args)
{
    if (level == LIBBPF_DEBUG && !getenv("VIGIL_BPF_DEBUG"))
        return 0;
    va_list copy;
    va_copy(copy, args);
    if (level == LIBBPF_WARN) {
        vsnprintf(last_libbpf_message, sizeof(last_libbpf_message), fmt, copy);
        size_t n = strlen(last_libbpf_message);
        if (n && last_libbpf_message[n - 1] == '\n')
            last_libbpf_message[n - 1] = 0;
    }
    va_end(copy);
    if (getenv("VIGIL_BPF_DEBUG"))
        return vfprintf(stderr, fmt, args);
    return 0;
}

static bool is_io_uring_program(const struct bpf_program *prog)
{
    return strstr(bpf_program__name(prog), "uring") != NULL;
}

static struct vigil_skel *open_skeleton(const struct vigil_bpf_options *opts, bool with_io_uring, char *err,
                                        size_t err_len)
{
    struct vigil_skel *skel = vigil_skel__open();
    if (!skel) {
        snprintf(err, err_len, "opening the BPF object failed: %s", strerror(errno));
        return NULL;
    }
    skel->rodata->exec_all = opts->exec_all;
    skel->rodata->wakeup_every = opts->wakeup_every ? opts->wakeup_every : 4096;
    if (opts->ring_bytes)
        bpf_map__set_max_entries(skel->maps.vigil_events, opts->ring_bytes);
    struct bpf_program *prog;
    bpf_object__for_each_program(prog, skel->obj)
    {
        if (is_io_uring_program(prog))
            bpf_program__set_autoload(prog, with_io_uring);
    }
    last_libbpf_message[0] = 0;
    int rc = vigil_skel__load(skel);
    if (rc) {
        snprintf(err, err_len, "loading the BPF programs failed (%s)%s%s", strerror(-rc),
                 last_libbpf_message[0] ? ": " : "", last_libbpf_message);
        vigil_skel__destroy(skel);
        return NULL;
    }
    return skel;
}

static int on_record(void *ctx, void *data, size_t size)
{
    vigil_bpf *bpf = ctx;
    if (bpf->batch_len + size > bpf->batch_cap) {
        if (bpf->batch_cap >= BATCH_CAP)
            return 1; /* stop: the record stays in the ring for the next poll */
        size_t cap = bpf->batch_cap ? bpf->batch_cap * 2 : (1u << 20);
        while (cap < bpf->batch_len + size)
            cap *= 2;
        uint8_t *grown = realloc(bpf->batch, cap);
        if (!grown)
            return 1;
        bpf->batch = grown;
        bpf->batch_cap = cap;
    }
    memcpy(bpf->batch + bpf->batch_len, data, size);
    bpf->batch_len += size;
    bpf->batch_records++;
    return 0;
}

vigil_bpf *vigil_bpf_open(const struct vigil_bpf_options *opts, char *err, size_t err_len)
{
    libbpf_set_print(libbpf_print);
    vigil_bpf *bpf = calloc(1, sizeof(*bpf));
    if (!bpf) {
        snprintf(err, err_len, "out of memory");
        return NULL;
    }
    bpf->cpus = libbpf_num_possible_cpus();
    char uring_err[512] = "";
    bool with_io_uring = opts->io_uring;
    bpf->skel = open_skeleton(opts, with_io_uring, err, err_len);
    if (!bpf->skel && with_io_uring) {
        /* Degraded mode: everything but io_uring. The reason is kept for status. */
        snprintf(uring_err, sizeof(uring_err), "%s", err);
        with_io_uring = false;
        bpf->skel = open_skeleton(opts, false, err, err_len);
    }
    if (!bpf->skel) {
        free(bpf);
        return NULL;
    }

    struct bpf_program *prog;
    bpf_object__for_each_program(prog, bpf->skel->obj)
    {
        int i = bpf->program_count++;
        if (i >= MAX_PROGRAMS)
            break;
        bpf->programs[i] = prog;
        if (!bpf_program__autoload(prog)) {
            bpf->program_errors[i] = -EOPNOTSUPP;
            continue;
        }
        if (bpf_program__type(prog) == BPF_PROG_TYPE_CGROUP_SOCK_ADDR)
            continue; /* attached per session cgroup, by vigil_bpf_attach_cgroup() */
        bpf->links[i] = bpf_program__attach(prog);
        if (!bpf->links[i]) {
            bpf->program_errors[i] = -errno;
            if (!is_io_uring_program(prog)) {
                snprintf(err, err_len, "attaching BPF program %s failed: %s", bpf_program__name(prog), strerror(errno));
                vigil_bpf_close(bpf);
                return NULL;
            }
        }
    }
    (void)uring_err;

    bpf->ring = ring_buffer__new(bpf_map__fd(bpf->skel->maps.vigil_events), on_record, bpf, NULL);
    if (!bpf->ring) {
        snprintf(err, err_len, "creating the ring-buffer reader failed: %s", strerror(errno));
        vigil_bpf_close(bpf);
        return NULL;
    }
    return bpf;
}

void vigil_bpf_close(vigil_bpf *bpf)
{
    if (!bpf)
        return;
    ring_buffer__free(bpf->ring);
    for (int i = 0; i < bpf->program_count && i < MAX_PROGRAMS; i++)
        bpf_link__destroy(bpf->links[i]);
    vigil_skel__destroy(bpf->skel);
    free(bpf->batch);
    free(bpf);
}

int vigil_bpf_program_count(const vigil_bpf *bpf)
{
    return bpf->program_count;
}

const char *vigil_bpf_program_name(const vigil_bpf *bpf, int index)
{
    return (index >= 0 && index < bpf->program_count) ? bpf_program__name(bpf->programs[index]) : "";
}

int vigil_bpf_program_error(const vigil_bpf *bpf, int index)
{
    return (index >= 0 && index < bpf->program_count) ? bpf->program_errors[index] : -EINVAL;
}

int vigil_bpf_program_stats(const vigil_bpf *bpf, int index, uint64_t *run_count, uint64_t *run_time_ns)
{
    if (index < 0 || index >= bpf->program_count || bpf->program_errors[index])
        return -EINVAL;
    struct bpf_prog_info info = {};
    __u32 len = sizeof(info);
    int rc = bpf_obj_get_info_by_fd(bpf_program__fd(bpf->programs[index]), &info, &len);
    if (rc)
        return -errno;
    *run_count = info.run_cnt;
    *run_time_ns = info.run_time_ns;
    return 0;
}

/* After every change to vigil_tracked (the map update is a syscall, so it is visible first):
 * the kernel's per-CPU session caches drop what they hold. */
static void tags_changed(vigil_bpf *bpf)
{
    __atomic_add_fetch(&bpf->skel->data_gen->tag_generation, 1, __ATOMIC_SEQ_CST);
}

/* The tracked-hint slot of `pid` (see VIGIL_HINT_SLOTS): raised before an entry is added, lowered
 * after one is removed, as the BPF side does. */
static void hint_add(vigil_bpf *bpf, uint32_t pid, int32_t delta)
{
    __atomic_add_fetch(&bpf->skel->data_hint->tracked_hint[pid & (VIGIL_HINT_SLOTS - 1)], (uint32_t)delta,
                       __ATOMIC_SEQ_CST);
}

int vigil_bpf_track(vigil_bpf *bpf, uint32_t pid, uint64_t session)
{
    struct vigil_session_tag tag = { .session = session };
    struct bpf_map *map = bpf->skel->maps.vigil_tracked;
    hint_add(bpf, pid, 1);
    int rc = bpf_map__update_elem(map, &pid, sizeof(pid), &tag, sizeof(tag), BPF_NOEXIST);
    if (rc != 0) {
        hint_add(bpf, pid, -1); /* already there (and counted), or not added */
        if (rc == -EEXIST)
            rc = bpf_map__update_elem(map, &pid, sizeof(pid), &tag, sizeof(tag), BPF_EXIST);
    }
    tags_changed(bpf);
    return rc;
}

int vigil_bpf_untrack(vigil_bpf *bpf, uint32_t pid)
{
    int rc = bpf_map__delete_elem(bpf->skel->maps.vigil_tracked, &pid, sizeof(pid), 0);
    if (rc == 0)
        hint_add(bpf, pid, -1);
    tags_changed(bpf);
    return rc;
}

int vigil_bpf_tag_accounting(vigil_bpf *bpf, uint64_t *entries, uint64_t *hinted)
{
    struct bpf_map *map = bpf->skel->maps.vigil_tracked;
    uint32_t key, next;
    uint64_t n = 0;
    int rc = bpf_map__get_next_key(map, NULL, &next, sizeof(next));
    while (rc == 0) {
        n++;
        key = next;
        rc = bpf_map__get_next_key(map, &key, &next, sizeof(next));
    }
    if (rc != -ENOENT)
        return rc;
    uint64_t sum = 0;
    for (int slot = 0; slot < VIGIL_HINT_SLOTS; slot++)
        sum += __atomic_load_n(&bpf->skel->data_hint->tracked_hint[slot], __ATOMIC_SEQ_CST);
    *entries = n;
    *hinted = sum;
    return 0;
}

uint64_t vigil_bpf_session_of(vigil_bpf *bpf, uint32_t pid)
{
    struct vigil_session_tag tag = {};
    if (bpf_map__lookup_elem(bpf->skel->maps.vigil_tracked, &pid, sizeof(pid), &tag, sizeof(tag), 0))
        return 0;
    return tag.session;
}

void vigil_bpf_set_tracked_sessions(vigil_bpf *bpf, uint32_t count)
{
    __atomic_store_n(&bpf->skel->bss->tracked_sessions, count, __ATOMIC_SEQ_CST);
}

int vigil_bpf_read_counters(vigil_bpf *bpf, uint64_t *out, size_t count)
{
    /* One BPF_MAP_LOOKUP_BATCH for every counter and CPU (the reader calls this every 100 ms);
     * one lookup per counter where the kernel has no batch lookup for arrays. */
    uint32_t n = VIGIL_CTR_MAX;
    uint32_t keys[VIGIL_CTR_MAX];
    uint64_t *values = calloc((size_t)n * bpf->cpus, sizeof(uint64_t));
    if (!values)
        return -ENOMEM;
    int fd = bpf_map__fd(bpf->skel->maps.vigil_counters);
    uint32_t out_batch = 0;
    LIBBPF_OPTS(bpf_map_batch_opts, opts);
    int rc = bpf_map_lookup_batch(fd, NULL, &out_batch, keys, values, &n, &opts);
    if (rc == 0 || (rc < 0 && errno == ENOENT)) { /* ENOENT: the last batch, n filled */
        for (size_t key = 0; key < count; key++)
            out[key] = 0;
        for (uint32_t i = 0; i < n; i++) {
            if (keys[i] >= count)
                continue;
            for (int cpu = 0; cpu < bpf->cpus; cpu++)
                out[keys[i]] += values[(size_t)i * bpf->cpus + cpu];
        }
        free(values);
        return 0;
    }
    for (uint32_t key = 0; key < count && key < VIGIL_CTR_MAX; key++) {
        out[key] = 0;
        if (bpf_map__lookup_elem(bpf->skel->maps.vigil_counters, &key, sizeof(key), values,
                                 sizeof(uint64_t) * bpf->cpus, 0) == 0)
            for (int cpu = 0; cpu < bpf->cpus; cpu++)
                out[key] += values[cpu];
    }
    free(values);
    return 0;
}

int vigil_bpf_poll(vigil_bpf *bpf, int timeout_ms, const uint8_t **batch, size_t *batch_len)
{
    bpf->batch_len = 0;
    bpf->batch_records = 0;
    int rc = ring_buffer__poll(bpf->ring, timeout_ms);
    /* Most records are submitted without a wakeup (batching), so epoll does not report them:
     * drain explicitly after every wait. */
    if (rc >= 0 || rc == -EINTR) {
        int consumed = ring_buffer__consume(bpf->ring);
        if (consumed < 0 && bpf->batch_records == 0)
            rc = consumed;
    }
    *batch = bpf->batch;
    *batch_len = bpf->batch_len;
    if (rc < 0 && rc != -EINTR && bpf->batch_records == 0)
        return rc;
    return bpf->batch_records;
}

/* Loads (and attaches) one program of the probe object on its own. */
static int probe_one(const char *name)
{
    struct probe_skel *skel = probe_skel__open();
    if (!skel)
        return -errno;
    struct bpf_program *prog, *target = NULL;
    bpf_object__for_each_program(prog, skel->obj)
    {
        bool match = strcmp(bpf_program__name(prog), name) == 0;
        bpf_program__set_autoload(prog, match);
        if (match)
            target = prog;
    }
    int rc = probe_skel__load(skel);
    if (rc == 0 && target && bpf_program__type(target) != BPF_PROG_TYPE_CGROUP_SOCK_ADDR) {
        struct bpf_link *link = bpf_program__attach(target);
        rc = link ? 0 : -errno;
        bpf_link__destroy(link);
    }
    probe_skel__destroy(skel);
    return rc;
}

void vigil_bpf_probe_features(struct vigil_bpf_features *out)
{
    libbpf_set_print(libbpf_print);
    out->tp_btf = probe_one("probe_io_uring");
    out->fentry = probe_one("probe_fentry");
    out->lsm = probe_one("probe_lsm");
    out->cgroup_sock_addr = probe_one("probe_cgroup_connect4");
}

/* Deletes every key of `map` whose u64 at `session_offset` is `session`; returns how many.
 * Collects first, then deletes: deleting while walking can restart the walk (LPM tries). */
static int clear_session_keys(struct bpf_map *map, size_t key_size, size_t session_offset, uint64_t session)
{
    enum { MAX_KEY = 64, MAX_DOOMED = 1024 };
    uint8_t key[MAX_KEY], next[MAX_KEY];
    uint8_t(*doomed)[MAX_KEY] = calloc(MAX_DOOMED, MAX_KEY);
    if (!doomed || key_size > MAX_KEY) {
        free(doomed);
        return -ENOMEM;
    }
    int n = 0;
    void *prev = NULL;
    while (bpf_map__get_next_key(map, prev, next, key_size) == 0) {
        uint64_t owner;
        memcpy(&owner, next + session_offset, sizeof(owner));
        if (owner == session && n < MAX_DOOMED)
            memcpy(doomed[n++], next, key_size);
        memcpy(key, next, key_size);
        prev = key;
    }
    for (int i = 0; i < n; i++)
        bpf_map__delete_elem(map, doomed[i], key_size, 0);
    free(doomed);
    return n;
}

/* ---- network enforcement on a session's cgroup */

struct vigil_cgroup_links {
    struct bpf_link *links[4];
};

vigil_cgroup_links *vigil_bpf_attach_cgroup(vigil_bpf *bpf, int cgroup_fd, char *err, size_t err_len)
{
    vigil_cgroup_links *c = calloc(1, sizeof(*c));
    if (!c) {
        snprintf(err, err_len, "out of memory");
        return NULL;
    }
    struct bpf_program *progs[4] = { bpf->skel->progs.vigil_connect4, bpf->skel->progs.vigil_connect6,
                                     bpf->skel->progs.vigil_sendmsg4, bpf->skel->progs.vigil_sendmsg6 };
    for (int i = 0; i < 4; i++) {
        c->links[i] = bpf_program__attach_cgroup(progs[i], cgroup_fd);
        if (!c->links[i]) {
            snprintf(err, err_len, "attaching %s to the session cgroup failed: %s", bpf_program__name(progs[i]),
                     strerror(errno));
            vigil_cgroup_links_destroy(c);
            return NULL;
        }
    }
    return c;
}

void vigil_cgroup_links_destroy(vigil_cgroup_links *c)
{
    if (!c)
        return;
    for (int i = 0; i < 4; i++)
        bpf_link__destroy(c->links[i]);
    free(c);
}

int vigil_bpf_set_net_rule(vigil_bpf *bpf, uint64_t session, const uint8_t addr[16], uint32_t prefix_bits,
                           const uint16_t *ranges, uint32_t range_count)
{
    if (prefix_bits > 128 || range_count > VIGIL_NET_RANGES)
        return -EINVAL;
    struct vigil_net_key key = { .prefixlen = 64 + prefix_bits, .session = session };
    memcpy(key.addr, addr, 16);
    struct vigil_net_rule rule = { .count = range_count };
    for (uint32_t i = 0; i < range_count; i++) {
        rule.ranges[i].low = ranges[2 * i];
        rule.ranges[i].high = ranges[2 * i + 1];
    }
    return bpf_map__update_elem(bpf->skel->maps.vigil_net_rules, &key, sizeof(key), &rule, sizeof(rule), BPF_ANY);
}

int vigil_bpf_clear_net_rules(vigil_bpf *bpf, uint64_t session)
{
    return clear_session_keys(bpf->skel->maps.vigil_net_rules, sizeof(struct vigil_net_key),
                              offsetof(struct vigil_net_key, session), session);
}

int vigil_bpf_set_peer_rule(vigil_bpf *bpf, uint64_t session, uint64_t cgroup_id, uint32_t cgroup_level,
                            const uint16_t *ranges, uint32_t range_count, uint32_t unix_deny)
{
    if (range_count > VIGIL_NET_RANGES)
        return -EINVAL;
    struct vigil_peer_rule rule = {
        .cgroup_id = cgroup_id, .cgroup_level = cgroup_level, .count = range_count, .unix_deny = unix_deny
    };
    for (uint32_t i = 0; i < range_count; i++) {
        rule.ranges[i].low = ranges[2 * i];
        rule.ranges[i].high = ranges[2 * i + 1];
    }
    return bpf_map__update_elem(bpf->skel->maps.vigil_peer_rules, &session, sizeof(session), &rule, sizeof(rule),
                                BPF_ANY);
}

int vigil_bpf_clear_peer_rule(vigil_bpf *bpf, uint64_t session)
{
    clear_session_keys(bpf->skel->maps.vigil_unix_allow, sizeof(struct vigil_unix_key),
                       offsetof(struct vigil_unix_key, session), session);
    int rc = bpf_map__delete_elem(bpf->skel->maps.vigil_peer_rules, &session, sizeof(session), 0);
    return rc == -ENOENT ? 0 : rc;
}

int vigil_bpf_set_unix_allow(vigil_bpf *bpf, uint64_t session, const char *path)
{
    struct vigil_unix_key key = { .session = session };
    if (strlen(path) >= sizeof(key.path))
        return -ENAMETOOLONG;
    strncpy(key.path, path, sizeof(key.path) - 1);
    uint8_t one = 1;
    return bpf_map__update_elem(bpf->skel->maps.vigil_unix_allow, &key, sizeof(key), &one, sizeof(one), BPF_ANY);
}

/* ---- exec kills (Exec(name) deny rules) */

int vigil_bpf_set_exec_kill(vigil_bpf *bpf, uint64_t session, const char *name)
{
    struct vigil_exec_key key = { .session = session };
    if (strlen(name) >= sizeof(key.name))
        return -ENAMETOOLONG;
    strncpy(key.name, name, sizeof(key.name) - 1);
    uint8_t one = 1;
    int rc = bpf_map__update_elem(bpf->skel->maps.vigil_exec_kill, &key, sizeof(key), &one, sizeof(one), BPF_NOEXIST);
    if (rc == 0)
        __atomic_add_fetch(&bpf->skel->bss->exec_kill_rules, 1, __ATOMIC_SEQ_CST);
    return rc == -EEXIST ? 0 : rc;
}

int vigil_bpf_clear_exec_kills(vigil_bpf *bpf, uint64_t session)
{
    int n = clear_session_keys(bpf->skel->maps.vigil_exec_kill, sizeof(struct vigil_exec_key),
                               offsetof(struct vigil_exec_key, session), session);
    if (n > 0)
        __atomic_sub_fetch(&bpf->skel->bss->exec_kill_rules, n, __ATOMIC_SEQ_CST);
    return n;
}

/* ---- open kills (Open(**\/NAME) deny rules) and session roots */

int vigil_bpf_set_open_kill(vigil_bpf *bpf, uint64_t session, const char *name)
{
    struct vigil_exec_key key = { .session = session };
    if (strlen(name) >= sizeof(key.name))
        return -ENAMETOOLONG;
    strncpy(key.name, name, sizeof(key.name) - 1);
    uint8_t one = 1;
    int rc = bpf_map__update_elem(bpf->skel->maps.vigil_open_kill, &key, sizeof(key), &one, sizeof(one), BPF_NOEXIST);
    if (rc == 0)
        __atomic_add_fetch(&bpf->skel->bss->open_kill_rules, 1, __ATOMIC_SEQ_CST);
    return rc == -EEXIST ? 0 : rc;
}

int vigil_bpf_clear_open_kills(vigil_bpf *bpf, uint64_t session)
{
    int n = clear_session_keys(bpf->skel->maps.vigil_open_kill, sizeof(struct vigil_exec_key),
                               offsetof(struct vigil_exec_key, session), session);
    if (n > 0)
        __atomic_sub_fetch(&bpf->skel->bss->open_kill_rules, n, __ATOMIC_SEQ_CST);
    return n;
}

int vigil_bpf_set_root(vigil_bpf *bpf, uint32_t pid, bool root)
{
    uint8_t one = 1;
    if (root)
        return bpf_map__update_elem(bpf->skel->maps.vigil_roots, &pid, sizeof(pid), &one, sizeof(one), BPF_ANY);
    return bpf_map__delete_elem(bpf->skel->maps.vigil_roots, &pid, sizeof(pid), 0);
}
