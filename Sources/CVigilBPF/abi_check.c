// SPDX-License-Identifier: Apache-2.0
/* Compile-time checks that the header's layout is what the Swift decoder reads. */
#include <stddef.h>
#include "CVigilBPF.h"

_Static_assert(offsetof(struct vigil_event_header, session) == 24, "header.session moved");
_Static_assert(offsetof(struct vigil_exec_event, path_len) == 72, "exec.path_len moved");
_Static_assert(offsetof(struct vigil_exec_event, exe_size) == 80, "exec.exe_size moved");
_Static_assert(offsetof(struct vigil_exec_event, exe_ctime_sec) == 96, "exec.exe_ctime_sec moved");
_Static_assert(offsetof(struct vigil_exec_event, exe_ctime_nsec) == 108, "exec.exe_ctime_nsec moved");
_Static_assert(offsetof(struct vigil_open_event, path_len) == 48, "open.path_len moved");
_Static_assert(offsetof(struct vigil_net_event, addr) == 48, "net.addr moved");
_Static_assert(offsetof(struct vigil_net_event, unix_path) == 64, "net.unix_path moved");
