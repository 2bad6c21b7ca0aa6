// SPDX-License-Identifier: Apache-2.0
/* Reaches into another process the ways a session must not reach outside itself:
 *   proc_reach MODE PID      on the process PID (outside the session, for the test)
 *   proc_reach MODE child    on a child of its own (inside the session: must work)
 * MODE: attach (PTRACE_ATTACH), seize (PTRACE_SEIZE), peek (PTRACE_PEEKDATA, no attach first),
 * readv (process_vm_readv), writev (process_vm_writev), getfd (pidfd_getfd of fd 0), traceme
 * (PTRACE_TRACEME: the target is the parent; PID is ignored, "child" runs it in a child).
 * Prints "before", makes the call, then "after RESULT": a caller SIGKILLed at entry never prints
 * the second line. Output is unbuffered so a kill cannot lose the first. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

static long word = 0x5649474c; /* "VIGL": read from a child, whose copy is the same */

static long reach(const char *mode, pid_t pid)
{
    if (!strcmp(mode, "attach"))
        return ptrace(PTRACE_ATTACH, pid, 0, 0);
    if (!strcmp(mode, "seize"))
        return ptrace(PTRACE_SEIZE, pid, 0, 0);
    if (!strcmp(mode, "peek"))
        return ptrace(PTRACE_PEEKDATA, pid, &word, 0);
    if (!strcmp(mode, "traceme"))
        return ptrace(PTRACE_TRACEME, 0, 0, 0);
    if (!strcmp(mode, "readv") || !strcmp(mode, "writev")) {
        long buffer = word;
        struct iovec local = { &buffer, sizeof(buffer) }, remote = { &word, sizeof(word) };
        return !strcmp(mode, "readv") ? syscall(SYS_process_vm_readv, pid, &local, 1, &remote, 1, 0)
                                      : syscall(SYS_process_vm_writev, pid, &local, 1, &remote, 1, 0);
    }
    if (!strcmp(mode, "getfd")) {
        int pidfd = syscall(SYS_pidfd_open, pid, 0);
        if (pidfd < 0)
            return -1000 - errno;
        return syscall(SYS_pidfd_getfd, pidfd, 0, 0);
    }
    fprintf(stderr, "unknown mode %s\n", mode);
    exit(2);
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: proc_reach attach|seize|peek|readv|writev|getfd|traceme PID|child\n");
        return 2;
    }
    setvbuf(stdout, NULL, _IONBF, 0);
    const char *mode = argv[1];
    if (strcmp(argv[2], "child") != 0) {
        printf("before\n");
        long r = reach(mode, atoi(argv[2]));
        printf("after %ld\n", r);
        return 0;
    }
    if (!strcmp(mode, "traceme")) {
        pid_t child = fork();
        if (child == 0) {
            long r = ptrace(PTRACE_TRACEME, 0, 0, 0);
            _exit(r == 0 ? 0 : 1);
        }
        int status;
        waitpid(child, &status, 0);
        printf("after %d\n", WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1);
        return 0;
    }
    pid_t child = fork();
    if (child == 0) {
        for (;;)
            pause();
    }
    printf("before\n");
    if (!strcmp(mode, "peek")) { /* PEEKDATA needs a tracee: attached, and stopped */
        int status;
        if (ptrace(PTRACE_ATTACH, child, 0, 0) != 0 || waitpid(child, &status, 0) != child)
            return 1;
    }
    long r = reach(mode, child);
    if (!strcmp(mode, "peek"))
        ptrace(PTRACE_DETACH, child, 0, 0);
    if (r >= 0 && (!strcmp(mode, "attach") || !strcmp(mode, "seize"))) {
        int status;
        if (!strcmp(mode, "attach"))
            waitpid(child, &status, 0); /* its SIGSTOP */
        ptrace(PTRACE_DETACH, child, 0, 0);
    }
    /* PEEKDATA returns the word itself; the others 0, a byte count or an fd. */
    printf("after %ld\n", !strcmp(mode, "peek") && r == word ? 0 : r);
    kill(child, SIGKILL);
    waitpid(child, NULL, 0);
    return 0;
}
