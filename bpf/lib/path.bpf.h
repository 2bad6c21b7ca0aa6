/* SPDX-License-Identifier: GPL-2.0-only OR Apache-2.0 */
/* Absolute paths from the kernel's own objects (struct path / struct file), never from the
 * caller's string: symlinks, relative paths, "..", dirfds and racing threads all resolve to
 * what the kernel actually opened. A d_path() reimplementation: bpf_d_path() is not allowed
 * from tracepoints. */
#ifndef VIGIL_PATH_BPF_H
#define VIGIL_PATH_BPF_H

#include "common.bpf.h"

#define NAME_MAX_COPY 256
#define SHORT_NAME 40 /* names shorter than this live inside the dentry (d_shortname) */

/* Where a resolved path is built in scratch->event: back to front (leaf first, one pass over
 * the dentries), ending at PATH_END, so that it never lies past the 4095 bytes before it. The
 * record's fixed part then goes right before the path's first byte, and what follows the path
 * (an exec's argv) goes at PATH_END: no byte of the path is copied twice. */
#define PATH_END 8192
#define PATH_LOW (PATH_END - VIGIL_PATH_MAX) /* never written: a path starts above it */
#define PATH_WALK_STEPS 128                  /* components plus mount crossings */
/* Steps walked inline before the loop takes over: a bpf_loop() iteration costs ~12 ns over its
 * body (measured: a 6-component path, 293 → 224 ns per open event), and most paths a build or an
 * agent opens have fewer than 8 components. */
#define PATH_INLINE_STEPS 8

struct path_result {
    __u32 start; /* the path is s->event[start .. PATH_END) */
    __u32 len;
    bool truncated;
};

/* Bounds the verifier can see: [PATH_LOW, PATH_END) and [PATH_LOW, PATH_LOW + 8192). */
#define IN_PATH(x) (PATH_LOW + (((x)-PATH_LOW) & (VIGIL_PATH_MAX - 1)))
#define NEAR_PATH(x) (PATH_LOW + (((x)-PATH_LOW) & (2 * VIGIL_PATH_MAX - 1)))

/* Casts a kernel address to a typed, read-only pointer: field loads then compile to direct
 * (fault-tolerant) loads instead of one bpf_probe_read_kernel() helper call each. */
extern void *bpf_rdonly_cast(const void *obj, __u32 btf_id) __ksym;
#define AS(type, addr) ((type *)bpf_rdonly_cast((void *)(addr), bpf_core_type_id_kernel(type)))

struct walk_ctx {
    struct scratch *s;
    __u64 mnt;    /* struct mount * */
    __u64 dentry; /* struct dentry * */
    __u32 pos;    /* the path so far is s->event[pos .. PATH_END) */
    bool done;    /* reached the root of the mount tree */
    bool truncated;
};

/* One step towards the root (inline for the first PATH_INLINE_STEPS, then by bpf_loop(), so the
 * verifier checks the body a bounded number of times): crosses a
 * mount point, or writes "/" + the name of one component in front of the path so far. Short
 * names are copied with direct word loads from the dentry itself (d_shortname); the last word
 * spills up to 7 bytes over the start of the path so far, which are saved and put back. Long
 * names need the helper, which copies exactly. */
static __always_inline long walk_step_body(__u32 index, struct walk_ctx *c)
{
    struct scratch *s = c->s;
    if (!s)
        return 1;
    struct mount *mnt = AS(struct mount, c->mnt);
    struct dentry *dentry = AS(struct dentry, c->dentry);
    if (dentry == mnt->mnt.mnt_root) {
        struct mount *parent = mnt->mnt_parent;
        if (parent == mnt) {
            c->done = true; /* the root of the mount tree */
            return 1;
        }
        c->dentry = (__u64)mnt->mnt_mountpoint;
        c->mnt = (__u64)parent;
        return 0;
    }
    struct dentry *parent = dentry->d_parent;
    if (parent == dentry) {
        c->done = true;
        return 1;
    }
    __u32 len = dentry->d_name.len;
    const unsigned char *name = dentry->d_name.name;
    if (len >= NAME_MAX_COPY || c->pos < PATH_LOW + 2 + len) {
        c->truncated = true; /* longer than VIGIL_PATH_MAX: the leading components are missing */
        return 1;
    }
    __u32 pos = NEAR_PATH(c->pos);
    __u32 at = IN_PATH(pos - len); /* the name goes to [at, pos), its '/' to at - 1 */
    if (len < SHORT_NAME && name == dentry->d_shortname.string) {
        /* As many words as the name covers (most names take one or two): they spill at most 7
         * bytes past `pos`, so one word of the path so far is saved and put back. Five words
         * and five saved each time cost ~10-20 ns more per open event (3-4 components). */
        __u64 *keep = (__u64 *)&s->event[pos];
        __u64 k0 = keep[0];
        __u64 *dst = (__u64 *)&s->event[at];
        dst[0] = dentry->d_shortname.words[0];
        if (len > 8) {
            dst[1] = dentry->d_shortname.words[1];
            if (len > 16) {
                dst[2] = dentry->d_shortname.words[2];
                if (len > 24) {
                    dst[3] = dentry->d_shortname.words[3];
                    if (len > 32)
                        dst[4] = dentry->d_shortname.words[4];
                }
            }
        }
        keep[0] = k0;
    } else {
        bpf_probe_read_kernel(&s->event[at], len & (NAME_MAX_COPY - 1), name);
    }
    s->event[at - 1] = '/';
    c->pos = at - 1;
    c->dentry = (__u64)parent;
    return 0;
}

static long walk_step(__u32 index, struct walk_ctx *c)
{
    return walk_step_body(index, c); /* the bpf_loop() callback */
}

/* Resolves `path` to an absolute path at s->event[r.start .. PATH_END). */
static __always_inline struct path_result resolve_path(struct scratch *s, const struct path *path)
{
    struct path *p = AS(struct path, path);
    struct walk_ctx w = {
        .s = s,
        .mnt = (__u64)container_of(p->mnt, struct mount, mnt),
        .dentry = (__u64)p->dentry,
        .pos = PATH_END,
    };
    int i;
    for (i = 0; i < PATH_INLINE_STEPS; i++)
        if (walk_step_body(i, &w))
            break;
    if (i == PATH_INLINE_STEPS)
        bpf_loop(PATH_WALK_STEPS - PATH_INLINE_STEPS, walk_step, &w, 0);
    if (w.pos >= PATH_END) { /* the root itself, or nothing fitted */
        s->event[PATH_END - 1] = '/';
        w.pos = PATH_END - 1;
    }
    __u32 start = IN_PATH(w.pos);
    struct path_result r = { .start = start, .len = PATH_END - start, .truncated = w.truncated || !w.done };
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
