/* SPDX-License-Identifier: Apache-2.0 */
/* Absolute paths from the kernel's own objects (struct path / struct file), never from the
 * caller's string: symlinks, relative paths, "..", dirfds and racing threads all resolve to
 * what the kernel actually opened. A d_path() reimplementation: bpf_d_path() is not allowed
 * from tracepoints. */
#ifndef VIGIL_PATH_BPF_H
#define VIGIL_PATH_BPF_H

#include "common.bpf.h"

#define PATH_MAX_DEPTH 64
#define NAME_MAX_COPY 256

struct path_result {
    __u32 start; /* offset of the first byte in scratch->path */
    __u32 len;
    bool truncated;
};

struct walk_ctx {
    struct mount *mnt;
    struct dentry *dentry;
    __u32 off;
    bool truncated;
};

/* One step of the walk towards the root; run by bpf_loop() so the verifier checks it once
 * instead of once per iteration (an unrolled walk exceeds the 1M-instruction budget). */
static long walk_step(__u32 index, struct walk_ctx *c)
{
    struct scratch *s = scratch();
    if (!s)
        return 1;
    struct mount *mnt = c->mnt;
    struct dentry *dentry = c->dentry;
    struct dentry *mnt_root = BPF_CORE_READ(mnt, mnt.mnt_root);
    if (dentry == mnt_root) {
        struct mount *parent = BPF_CORE_READ(mnt, mnt_parent);
        if (parent == mnt)
            return 1; /* the root of the mount tree */
        c->dentry = BPF_CORE_READ(mnt, mnt_mountpoint);
        c->mnt = parent;
        return 0;
    }
    struct dentry *parent = BPF_CORE_READ(dentry, d_parent);
    if (parent == dentry)
        return 1;
    const unsigned char *name = BPF_CORE_READ(dentry, d_name.name);
    __u32 len = BPF_CORE_READ(dentry, d_name.len);
    if (len > NAME_MAX_COPY - 1)
        len = NAME_MAX_COPY - 1;
    __u32 off = c->off & (VIGIL_PATH_MAX * 2 - 1);
    if (off > VIGIL_PATH_MAX || off < len + 1) {
        c->truncated = true;
        return 1;
    }
    off -= len + 1;
    bpf_probe_read_kernel(&s->path[(off + 1) & (VIGIL_PATH_MAX - 1)], len & (NAME_MAX_COPY - 1), name);
    s->path[off & (VIGIL_PATH_MAX - 1)] = '/';
    c->off = off;
    c->dentry = parent;
    if (index == PATH_MAX_DEPTH - 1)
        c->truncated = true; /* deeper than the walk: the leading components are missing */
    return 0;
}

/* Writes the path backwards so that it ends at scratch->path[VIGIL_PATH_MAX - 1]. */
static __always_inline struct path_result resolve_path(struct scratch *s, const struct path *path)
{
    struct walk_ctx c = {
        .mnt = container_of(BPF_CORE_READ(path, mnt), struct mount, mnt),
        .dentry = BPF_CORE_READ(path, dentry),
        .off = VIGIL_PATH_MAX,
        .truncated = false,
    };
    bpf_loop(PATH_MAX_DEPTH, walk_step, &c, 0);
    __u32 off = c.off & (VIGIL_PATH_MAX * 2 - 1);
    if (off >= VIGIL_PATH_MAX) { /* the root itself */
        off = VIGIL_PATH_MAX - 1;
        s->path[off] = '/';
    }
    struct path_result r = { .start = off, .len = VIGIL_PATH_MAX - off, .truncated = c.truncated };
    return r;
}

/* The struct file behind descriptor `fd` of `task`, or NULL. */
static __always_inline struct file *file_of_fd(struct task_struct *task, long fd)
{
    struct files_struct *files = BPF_CORE_READ(task, files);
    if (!files || fd < 0)
        return NULL;
    struct fdtable *fdt = BPF_CORE_READ(files, fdt);
    if (!fdt || fd >= BPF_CORE_READ(fdt, max_fds))
        return NULL;
    struct file **fds = BPF_CORE_READ(fdt, fd);
    struct file *file = NULL;
    bpf_probe_read_kernel(&file, sizeof(file), &fds[fd]);
    return file;
}

/* Copies a resolved path into the record at `dst_off`; returns its length. */
static __always_inline __u32 copy_path(struct scratch *s, __u32 dst_off, struct path_result r)
{
    __u32 len = r.len & (VIGIL_PATH_MAX - 1);
    if (r.len >= VIGIL_PATH_MAX)
        len = VIGIL_PATH_MAX - 1;
    bpf_probe_read_kernel(&s->event[dst_off & (SCRATCH_EVENT / 2 - 1)], len, &s->path[r.start & (VIGIL_PATH_MAX - 1)]);
    return len;
}

#endif
