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
 *   build  N real compiles: `cc -c unit.c`, where unit.c includes a few dozen system headers —
 *          an open-heavy build in which the compiler also does the work a build does.
 *   opens  N opens of the same cycle as `open`, without a close each: descriptors are closed
 *          512 at a time with one close_range(2). Used for the BPF cost of one open event, so
 *          that the measured window holds (almost) nothing but opens.
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

/* A translation unit that pulls in many headers, as real C code does. */
static const char unit_c[] =
    "#include <stdio.h>\n#include <stdlib.h>\n#include <string.h>\n#include <unistd.h>\n"
    "#include <fcntl.h>\n#include <errno.h>\n#include <signal.h>\n#include <pthread.h>\n"
    "#include <sys/stat.h>\n#include <sys/types.h>\n#include <sys/wait.h>\n#include <sys/socket.h>\n"
    "#include <netinet/in.h>\n#include <arpa/inet.h>\n#include <time.h>\n#include <math.h>\n"
    "#include <ctype.h>\n#include <limits.h>\n#include <stdint.h>\n#include <dirent.h>\n"
    "int unit(int x) { char b[64]; snprintf(b, sizeof b, \"%d\", x); return (int)strlen(b) + abs(x); }\n";

/* <root>/main.c, <root>/unit.c, <root>/include/util.h; cwd = <root>. */
static void setup(void)
{
    if (!mkdtemp(root) || chdir(root) != 0 || mkdir("include", 0755) != 0)
        die("fixture");
    make_file("main.c");
    make_file("include/util.h");
    int unit = open("unit.c", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (unit < 0 || write(unit, unit_c, sizeof unit_c - 1) != (ssize_t)(sizeof unit_c - 1) || close(unit) != 0)
        die("unit.c");
    snprintf(abs_header, sizeof abs_header, "%s/include/util.h", root);
    include_dir = open("include", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (include_dir < 0)
        die("include");
}

static void one_compile(void)
{
    pid_t pid = fork();
    if (pid < 0)
        die("fork");
    if (pid == 0) {
        execlp("cc", "cc", "-c", "-O1", "unit.c", "-o", "unit.o", (char *)NULL);
        _exit(127);
    }
    wait_success(pid, "cc");
}

static void teardown(void)
{
    unlink("unit.c");
    unlink("unit.o");
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
        fprintf(stderr, "usage: workload open|opens|exec|mixed|build N\n");
        return 2;
    }
    const char *mode = argv[1];
    if (strcmp(mode, "open") && strcmp(mode, "opens") && strcmp(mode, "exec") && strcmp(mode, "mixed") &&
        strcmp(mode, "build")) {
        fprintf(stderr, "workload: unknown mode %s\n", mode);
        return 2;
    }
    setup();
    long long start = now_ns(), cpu_start = cpu_ns();
    if (!strcmp(mode, "open")) {
        for (unsigned long i = 0; i < n; i++)
            one_open(i);
    } else if (!strcmp(mode, "opens")) {
        opens_only(n);
    } else if (!strcmp(mode, "build")) {
        for (unsigned long i = 0; i < n; i++)
            one_compile();
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
