// SPDX-License-Identifier: Apache-2.0
/* bpf-floor OBJECT COMMAND: attaches every (empty) program of OBJECT, runs COMMAND with sh -c,
 * and prints one "NAME RUNS NS" line per program — its run count and total run time
 * (kernel.bpf_stats_enabled=1). */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <stdio.h>
#include <stdlib.h>

#define MAX_PROGS 8

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: bpf-floor OBJECT COMMAND\n");
        return 2;
    }
    struct bpf_object *obj = bpf_object__open_file(argv[1], NULL);
    if (!obj || bpf_object__load(obj)) {
        perror("bpf-floor: load");
        return 1;
    }
    struct bpf_program *progs[MAX_PROGS];
    struct bpf_link *links[MAX_PROGS];
    struct bpf_prog_info before[MAX_PROGS] = {};
    int n = 0;
    struct bpf_program *prog;
    bpf_object__for_each_program(prog, obj)
    {
        if (n == MAX_PROGS)
            break;
        links[n] = bpf_program__attach(prog);
        if (!links[n]) {
            fprintf(stderr, "bpf-floor: attach %s: ", bpf_program__name(prog));
            perror(NULL);
            return 1;
        }
        progs[n++] = prog;
    }
    for (int i = 0; i < n; i++) {
        __u32 len = sizeof(before[i]);
        bpf_obj_get_info_by_fd(bpf_program__fd(progs[i]), &before[i], &len);
    }
    int rc = system(argv[2]);
    for (int i = 0; i < n; i++) {
        struct bpf_prog_info after = {};
        __u32 len = sizeof(after);
        bpf_obj_get_info_by_fd(bpf_program__fd(progs[i]), &after, &len);
        printf("%s %llu %llu\n", bpf_program__name(progs[i]), (unsigned long long)(after.run_cnt - before[i].run_cnt),
               (unsigned long long)(after.run_time_ns - before[i].run_time_ns));
        bpf_link__destroy(links[i]);
    }
    bpf_object__close(obj);
    return rc == 0 ? 0 : 1;
}
