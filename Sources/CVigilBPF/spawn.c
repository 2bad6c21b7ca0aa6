/* A gated spawn: the child exists (and is in its cgroup) before it runs anything, so the
 * parent can tag it as a session root in the kernel before the first instruction of the
 * command. Only async-signal-safe calls happen in the child. */
#define _GNU_SOURCE
#include "CVigilBPF.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

int vigil_spawn_gated(const char *path, char *const argv[], char *const envp[], int cgroup_procs_fd, pid_t *pid,
                      int *gate_fd, int *exec_error_fd)
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
        close(gate[0]); close(gate[1]); close(status[0]); close(status[1]);
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
