// SPDX-License-Identifier: Apache-2.0
/* A gated spawn: the child exists (and is in its cgroup) before it runs anything, so the
 * parent can tag it as a session root in the kernel before the first instruction of the
 * command. Only async-signal-safe calls happen in the child. */
#define _GNU_SOURCE
#include "CVigilBPF.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

/* In the child, before it waits at the gate: closes every inherited descriptor marked close-on-exec
 * (the exec would close them anyway) except `keep_a` and `keep_b`. Otherwise, while the child waits,
 * it holds the parent's descriptors — and with them, say, an flock the parent releases, or the write
 * end of a pipe another thread waits to see closed. Raw getdents64: async-signal-safe. */
static void close_cloexec_descriptors(int keep_a, int keep_b)
{
    int dir = open("/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir < 0)
        return;
    char buffer[4096];
    for (;;) {
        long n = syscall(SYS_getdents64, dir, buffer, sizeof(buffer));
        if (n <= 0)
            break;
        for (long offset = 0; offset < n;) {
            struct dirent64 *entry = (struct dirent64 *)(buffer + offset);
            offset += entry->d_reclen;
            int fd = 0;
            const char *c = entry->d_name;
            if (*c < '0' || *c > '9')
                continue;
            for (; *c >= '0' && *c <= '9'; c++)
                fd = fd * 10 + (*c - '0');
            if (fd <= 2 || fd == dir || fd == keep_a || fd == keep_b)
                continue;
            int flags = fcntl(fd, F_GETFD);
            if (flags >= 0 && (flags & FD_CLOEXEC))
                close(fd);
        }
    }
    close(dir);
}

int vigil_spawn_gated(const char *path, char *const argv[], char *const envp[], int cgroup_procs_fd,
                      const struct vigil_spawn_credentials *credentials, pid_t *pid, int *gate_fd, int *exec_error_fd)
{
    int gate[2], status[2];
    if (pipe2(gate, O_CLOEXEC) != 0)
        return -errno;
    if (pipe2(status, O_CLOEXEC) != 0) {
        int e = errno;
        close(gate[0]);
        close(gate[1]);
        return -e;
    }
    pid_t child = fork();
    if (child < 0) {
        int e = errno;
        close(gate[0]);
        close(gate[1]);
        close(status[0]);
        close(status[1]);
        return -e;
    }
    if (child == 0) {
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        /* Ignored signals survive exec: give the command default dispositions. */
        struct sigaction dfl = { .sa_handler = SIG_DFL };
        for (int sig = 1; sig < NSIG; sig++)
            if (sig != SIGKILL && sig != SIGSTOP)
                sigaction(sig, &dfl, NULL);
        int err = 0;
        if (cgroup_procs_fd >= 0 && write(cgroup_procs_fd, "0", 1) != 1)
            err = errno;
        /* Joined as root (cgroup.procs is root's); the account from here on, before the command's
         * first instruction. setuid last: it gives up the right to set the others. */
        if (!err && credentials) {
            if (setgroups(credentials->group_count, credentials->groups) != 0 || setgid(credentials->gid) != 0 ||
                setuid(credentials->uid) != 0)
                err = errno;
        }
        close_cloexec_descriptors(gate[0], status[1]);
        char go;
        if (!err && read(gate[0], &go, 1) != 1)
            err = ECANCELED; /* the parent went away without opening the gate */
        if (!err) {
            execve(path, argv, envp);
            err = errno;
        }
        (void)!write(status[1], &err, sizeof(err));
        _exit(127);
    }
    close(gate[0]);
    close(status[1]);
    *pid = child;
    *gate_fd = gate[1];
    *exec_error_fd = status[0];
    return 0;
}
