// SPDX-License-Identifier: Apache-2.0
/*
 * workload MODE N — a fixed amount of exec/open work for the sensor overhead benchmark
 * (bench/sensor-overhead.sh). Prints "ELAPSED_NS CPU_NS": the wall time of the work and the CPU
 * time (user + system) it used, its children included.
 *
 *   open   N open+close calls, cycling over a compiler-like set of paths: absolute, relative to
 *          the cwd, relative to a directory fd (openat), and one missing file (ENOENT).
 *   exec   N fork + exec /bin/true + waitpid.
 *   mixed  N fork + exec /bin/true, where each child first does OPENS_PER_CHILD opens
 *          (a build: make forks cc, cc opens headers, then the next one).
 *   build  N builds of a real C project, already configured in $WORKLOAD_BUILD_DIR: each one
 *          `make clean` (not timed), then `make -j$BUILD_JOBS` (default: the online CPUs), timed.
 *          bench/sensor-overhead.sh prepares GNU libiberty from Debian's binutils-source there:
 *          gcc compiling 66 files of real code, ~33k opens and ~1,100 execs per build.
 *   opens  N opens of the same cycle as `open`, without a close each: descriptors are closed
 *          512 at a time with one close_range(2). Used for the BPF cost of one open event, so
 *          that the measured window holds (almost) nothing but opens.
 *   syscalls  N getppid(2) calls: the cost of a syscall the sensor filters out by its number.
 *
 * The files live in a private temporary directory created before the clock starts, so the
 * timed part does nothing but the syscalls under test. Timing is taken here rather than by
 * the caller so that tool start-up (vigil, bpftrace, auditd) is not counted.
 *
 * On a shared machine the CPU time is the steadier of the two, as it does not count time spent
 * waiting for a core; but it misses work done for the workload by other tasks (a tracer's
 * reader, kauditd) and time spent blocked (a full audit backlog), so wall time is the headline.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum { OPENS_PER_CHILD = 16 };

static char root[] = "/tmp/vigil-workload.XXXXXX";
static char abs_header[sizeof root + 32];
static int include_dir = -1;

static void die(const char *what)
{
    fprintf(stderr, "workload: %s: %s\n", what, strerror(errno));
    exit(2);
}

/* Reaps `pid`; a child that did not exit 0 ends the workload (a benchmark of failures is void). */
static void wait_success(pid_t pid, const char *what)
{
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            die("waitpid");
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "workload: %s failed (status %d)\n", what, status);
        exit(2);
    }
}

static void make_file(const char *path)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0 || write(fd, "x\n", 2) != 2 || close(fd) != 0)
        die(path);
}

/* <root>/main.c, <root>/include/util.h; cwd = <root>. */
static void setup(void)
{
    if (!mkdtemp(root) || chdir(root) != 0 || mkdir("include", 0755) != 0)
        die("fixture");
    make_file("main.c");
    make_file("include/util.h");
    snprintf(abs_header, sizeof abs_header, "%s/include/util.h", root);
    include_dir = open("include", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (include_dir < 0)
        die("include");
}

/* `make ARGS…` in `dir`, its output to `log` (stdout is the result line); a failure ends the
 * workload with the log's name. */
static void run_make(const char *dir, const char *log, const char *jobs)
{
    pid_t pid = fork();
    if (pid < 0)
        die("fork");
    if (pid == 0) {
        int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
            _exit(126);
        if (jobs)
            execlp("make", "make", "-s", "-C", dir, jobs, (char *)NULL);
        else
            execlp("make", "make", "-s", "-C", dir, "clean", (char *)NULL);
        _exit(127);
    }
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            die("waitpid");
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "workload: make %s in %s failed (status %d): see %s\n", jobs ? jobs : "clean", dir, status,
                log);
        exit(2);
    }
}

static void teardown(void)
{
    close(include_dir);
    unlink("include/util.h");
    unlink("main.c");
    rmdir("include");
    if (chdir("/") == 0)
        rmdir(root);
}

/* The i-th open of the cycle; every case is one openat(2) on x86-64 glibc. */
static void one_open(unsigned long i)
{
    int fd;
    switch (i % 5) {
    case 0: fd = open("/etc/passwd", O_RDONLY | O_CLOEXEC); break;           /* absolute, system */
    case 1: fd = open("main.c", O_RDONLY | O_CLOEXEC); break;                /* relative to cwd */
    case 2: fd = open(abs_header, O_RDONLY | O_CLOEXEC); break;              /* absolute, deeper */
    case 3: fd = openat(include_dir, "util.h", O_RDONLY | O_CLOEXEC); break; /* relative to a dir fd */
    default:                                                                 /* header search miss */
        fd = open("include/missing.h", O_RDONLY | O_CLOEXEC);
        if (fd >= 0 || errno != ENOENT)
            die("missing.h exists");
        return;
    }
    if (fd < 0)
        die("open");
    close(fd);
}

/* `opens` mode: the open cycle with the descriptors closed in batches. */
static void opens_only(unsigned long n)
{
    enum { BATCH = 512 };
    for (unsigned long i = 0; i < n; i++) {
        int fd;
        switch (i % 5) {
        case 0: fd = open("/etc/passwd", O_RDONLY | O_CLOEXEC); break;
        case 1: fd = open("main.c", O_RDONLY | O_CLOEXEC); break;
        case 2: fd = open(abs_header, O_RDONLY | O_CLOEXEC); break;
        case 3: fd = openat(include_dir, "util.h", O_RDONLY | O_CLOEXEC); break;
        default:
            fd = open("include/missing.h", O_RDONLY | O_CLOEXEC);
            fd = fd < 0 ? 0 : -1;
            break;
        }
        if (fd < 0)
            die("open");
        if (i % BATCH == BATCH - 1 && syscall(SYS_close_range, include_dir + 1, ~0U, 0) != 0)
            die("close_range");
    }
    syscall(SYS_close_range, include_dir + 1, ~0U, 0);
}

static void one_exec(int opens_first)
{
    pid_t pid = fork();
    if (pid < 0)
        die("fork");
    if (pid == 0) {
        for (int i = 0; i < opens_first; i++)
            one_open((unsigned long)i);
        execl("/bin/true", "true", (char *)NULL);
        _exit(127);
    }
    wait_success(pid, "/bin/true");
}

static long long tv_ns(struct timeval tv)
{
    return tv.tv_sec * 1000000000LL + tv.tv_usec * 1000LL;
}

/* User + system time of this process and of its reaped children. */
static long long cpu_ns(void)
{
    struct rusage self, children;
    getrusage(RUSAGE_SELF, &self);
    getrusage(RUSAGE_CHILDREN, &children);
    return tv_ns(self.ru_utime) + tv_ns(self.ru_stime) + tv_ns(children.ru_utime) + tv_ns(children.ru_stime);
}

static long long now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int main(int argc, char **argv)
{
    char *end;
    unsigned long n = argc == 3 ? strtoul(argv[2], &end, 10) : 0;
    if (argc != 3 || *end || n == 0) {
        fprintf(stderr, "usage: workload open|opens|exec|mixed|build|syscalls N\n");
        return 2;
    }
    const char *mode = argv[1];
    if (strcmp(mode, "open") && strcmp(mode, "opens") && strcmp(mode, "exec") && strcmp(mode, "mixed") &&
        strcmp(mode, "build") && strcmp(mode, "syscalls")) {
        fprintf(stderr, "workload: unknown mode %s\n", mode);
        return 2;
    }
    if (!strcmp(mode, "build")) {
        /* Timed build by build: the clean before each one is not counted, in wall or CPU time. */
        const char *dir = getenv("WORKLOAD_BUILD_DIR");
        if (!dir || !*dir) {
            fprintf(stderr,
                    "workload: build needs WORKLOAD_BUILD_DIR (a configured project: see bench/sensor-overhead.sh)\n");
            return 2;
        }
        char log[4096], jobs[32];
        snprintf(log, sizeof log, "%s/vigil-workload-make.log", dir);
        const char *j = getenv("BUILD_JOBS");
        snprintf(jobs, sizeof jobs, "-j%ld", j && *j ? strtol(j, NULL, 10) : sysconf(_SC_NPROCESSORS_ONLN));
        long long elapsed = 0, cpu = 0;
        for (unsigned long i = 0; i < n; i++) {
            run_make(dir, log, NULL);
            long long start = now_ns(), cpu_start = cpu_ns();
            run_make(dir, log, jobs);
            elapsed += now_ns() - start;
            cpu += cpu_ns() - cpu_start;
        }
        printf("%lld %lld\n", elapsed, cpu);
        return 0;
    }
    setup();
    long long start = now_ns(), cpu_start = cpu_ns();
    if (!strcmp(mode, "open")) {
        for (unsigned long i = 0; i < n; i++)
            one_open(i);
    } else if (!strcmp(mode, "opens")) {
        opens_only(n);
    } else if (!strcmp(mode, "syscalls")) {
        for (unsigned long i = 0; i < n; i++)
            syscall(SYS_getppid);
    } else {
        int opens = strcmp(mode, "mixed") ? 0 : OPENS_PER_CHILD;
        for (unsigned long i = 0; i < n; i++)
            one_exec(opens);
    }
    long long elapsed = now_ns() - start, cpu = cpu_ns() - cpu_start;
    teardown();
    printf("%lld %lld\n", elapsed, cpu);
    return 0;
}
