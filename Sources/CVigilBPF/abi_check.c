// SPDX-License-Identifier: Apache-2.0
/* The ring records' layout as the C compiler lays it out, field by field, for the Swift test that
 * checks VigilCore's EventLayout against it (ABILayoutTests). The literal offsets are asserted at
 * compile time in vigil_abi.h itself (_Static_assert for every field), here by the host compiler
 * and in the BPF programs by the BPF one; this table lets Swift compare names too, both ways, and see
 * padding the compiler would add. */
#include <stddef.h>
#include "CVigilBPF.h"

#define FIELD(type, name)                                                                                              \
    {                                                                                                                  \
#type, #name, offsetof(struct type, name), sizeof(((struct type *)0)->name), sizeof(struct type)               \
    }

static const struct vigil_abi_field fields[] = {
    FIELD(vigil_event_header, kind),
    FIELD(vigil_event_header, flags),
    FIELD(vigil_event_header, size),
    FIELD(vigil_event_header, ktime_ns),
    FIELD(vigil_event_header, pid),
    FIELD(vigil_event_header, tid),
    FIELD(vigil_event_header, session),

    FIELD(vigil_exec_event, hdr),
    FIELD(vigil_exec_event, ppid),
    FIELD(vigil_exec_event, uid),
    FIELD(vigil_exec_event, gid),
    FIELD(vigil_exec_event, old_tid),
    FIELD(vigil_exec_event, cgroup_id),
    FIELD(vigil_exec_event, exe_dev),
    FIELD(vigil_exec_event, exe_ino),
    FIELD(vigil_exec_event, path_len),
    FIELD(vigil_exec_event, argv_len),
    FIELD(vigil_exec_event, argc),
    FIELD(vigil_exec_event, exe_size),
    FIELD(vigil_exec_event, exe_mtime_sec),
    FIELD(vigil_exec_event, exe_ctime_sec),
    FIELD(vigil_exec_event, exe_mtime_nsec),
    FIELD(vigil_exec_event, exe_ctime_nsec),

    FIELD(vigil_fork_event, hdr),
    FIELD(vigil_fork_event, child_pid),
    FIELD(vigil_fork_event, pad),

    FIELD(vigil_exit_event, hdr),
    FIELD(vigil_exit_event, exit_code),
    FIELD(vigil_exit_event, pad),

    FIELD(vigil_open_event, hdr),
    FIELD(vigil_open_event, result),
    FIELD(vigil_open_event, flags),
    FIELD(vigil_open_event, mode),
    FIELD(vigil_open_event, path_len),
    FIELD(vigil_open_event, base_len),
    FIELD(vigil_open_event, pad),

    FIELD(vigil_net_event, hdr),
    FIELD(vigil_net_event, result),
    FIELD(vigil_net_event, family),
    FIELD(vigil_net_event, port),
    FIELD(vigil_net_event, peer_pid),
    FIELD(vigil_net_event, addr),
    FIELD(vigil_net_event, unix_path),
    FIELD(vigil_net_event, pad_end),
    FIELD(vigil_net_event, peer_cgroup),
    FIELD(vigil_net_event, peer_ino),

    FIELD(vigil_proc_access_event, hdr),
    FIELD(vigil_proc_access_event, call),
    FIELD(vigil_proc_access_event, pad),
    FIELD(vigil_proc_access_event, target_pid),
    FIELD(vigil_proc_access_event, request),
    FIELD(vigil_proc_access_event, arg),
    FIELD(vigil_proc_access_event, target_session),
};

const struct vigil_abi_field *vigil_abi_fields(size_t *count)
{
    *count = sizeof(fields) / sizeof(fields[0]);
    return fields;
}
