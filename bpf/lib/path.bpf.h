/* SPDX-License-Identifier: Apache-2.0 */
/* Absolute paths from the kernel's own objects (struct path / struct file), never from the
 * caller's string: symlinks, relative paths, "..", dirfds and racing threads all resolve to
 * what the kernel actually opened. A d_path() reimplementation: bpf_d_path() is not allowed
 * from tracepoints. */
#ifndef VIGIL_PATH_BPF_H
#define VIGIL_PATH_BPF_H

#include "common.bpf.h"

#define NAME_MAX_COPY 256
#define SHORT_NAME 40 /* names shorter than this live inside the dentry (d_shortname) */

struct path_result {
    __u32 len;
    bool truncated;
};

/* Casts a kernel address to a typed, read-only pointer: field loads then compile to direct
 * (fault-tolerant) loads instead of one bpf_probe_read_kernel() helper call each. */
extern void *bpf_rdonly_cast(const void *obj, __u32 btf_id) __ksym;
#define AS(type, addr) ((type *)bpf_rdonly_cast((void *)(addr), bpf_core_type_id_kernel(type)))

struct walk_ctx {
    struct scratch *s;
    __u64 mnt;    /* struct mount * */
    __u64 dentry; /* struct dentry * */
    __u32 count;  /* components collected in scratch->parts */
    bool truncated;
};

/* Pass 1, one step towards the root: collect the dentry of each component (crossing mount
 * points), leaf first. Run by bpf_loop() so the verifier checks the body once. */
static long walk_step(__u32 index, struct walk_ctx *c)
{
    struct scratch *s = c->s;
    if (!s)
        return 1;
    struct mount *mnt = AS(struct mount, c->mnt);
    struct dentry *dentry = AS(struct dentry, c->dentry);
    if (dentry == mnt->mnt.mnt_root) {
        struct mount *parent = mnt->mnt_parent;
        if (parent == mnt)
            return 1; /* the root of the mount tree */
        c->dentry = (__u64)mnt->mnt_mountpoint;
        c->mnt = (__u64)parent;
        return 0;
    }
    struct dentry *parent = dentry->d_parent;
    if (parent == dentry)
        return 1;
    if (c->count >= PATH_MAX_DEPTH) {
        c->truncated = true; /* deeper than the walk: the leading components are missing */
        return 1;
    }
    s->parts[c->count & (PATH_MAX_DEPTH - 1)] = (__u64)dentry;
    c->count++;
    c->dentry = (__u64)parent;
    return 0;
}

struct emit_ctx {
    struct scratch *s;
    __u32 dst;   /* offset in scratch->event where the path starts */
    __u32 pos;   /* bytes written so far */
    __u32 count;
    bool truncated;
};

/* Pass 2, root first: "/" + name for each component, written forwards straight into the
 * record. Short names are copied with five direct word loads from the dentry itself (the
 * bytes past the name are overwritten by the next component or lie past the path's end);
 * long names need the helper. */
static long emit_step(__u32 index, struct emit_ctx *c)
{
    struct scratch *s = c->s;
    if (!s || index >= c->count)
        return 1;
    struct dentry *dentry = AS(struct dentry, s->parts[(c->count - 1 - index) & (PATH_MAX_DEPTH - 1)]);
    __u32 len = dentry->d_name.len;
    const unsigned char *name = dentry->d_name.name;
    if (c->pos + 1 + len >= VIGIL_PATH_MAX) {
        c->truncated = true;
        return 1;
    }
    __u32 at = (c->dst + c->pos) & (SCRATCH_EVENT / 2 - 1);
    s->event[at] = '/';
    at = (at + 1) & (SCRATCH_EVENT / 2 - 1);
    if (len < SHORT_NAME && name == dentry->d_shortname.string) {
        __u64 *dst = (__u64 *)&s->event[at];
        dst[0] = dentry->d_shortname.words[0];
        dst[1] = dentry->d_shortname.words[1];
        dst[2] = dentry->d_shortname.words[2];
        dst[3] = dentry->d_shortname.words[3];
        dst[4] = dentry->d_shortname.words[4];
    } else {
        bpf_probe_read_kernel(&s->event[at], len & (NAME_MAX_COPY - 1), name);
        if (len >= NAME_MAX_COPY)
            c->truncated = true;
    }
    c->pos += 1 + (len & (NAME_MAX_COPY - 1));
    return 0;
}

/* Resolves `path` to an absolute path written at scratch->event[dst]. */
static __always_inline struct path_result resolve_path(struct scratch *s, const struct path *path, __u32 dst)
{
    struct path *p = AS(struct path, path);
    struct walk_ctx w = {
        .s = s,
        .mnt = (__u64)container_of(p->mnt, struct mount, mnt),
        .dentry = (__u64)p->dentry,
    };
    bpf_loop(PATH_MAX_DEPTH + 16, walk_step, &w, 0);
    struct emit_ctx e = { .s = s, .dst = dst, .count = w.count, .truncated = w.truncated };
    bpf_loop(PATH_MAX_DEPTH, emit_step, &e, 0);
    if (e.pos == 0) { /* the root itself */
        s->event[dst & (SCRATCH_EVENT / 2 - 1)] = '/';
        e.pos = 1;
    }
    struct path_result r = { .len = e.pos & (VIGIL_PATH_MAX - 1), .truncated = e.truncated };
    return r;
}

/* The struct file behind descriptor `fd` of `task`, or NULL. */
static __always_inline struct file *file_of_fd(struct task_struct *task, long fd)
{
    struct task_struct *t = AS(struct task_struct, task);
    struct files_struct *files = t->files;
    if (!files || fd < 0)
        return NULL;
    struct fdtable *fdt = files->fdt;
    if (!fdt || fd >= fdt->max_fds)
        return NULL;
    /* fds[fd] as a direct load: any BTF struct whose first member is a `struct file *` types
     * the slot (io_cmd_data is one); a helper call here costs more than the rest of the lookup. */
    struct file **fds = fdt->fd;
    return AS(struct io_cmd_data, &fds[fd & 0xfffff])->file;
}

#endif
