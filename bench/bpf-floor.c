/* bpf-floor OBJECT COMMAND: attaches the (empty) program of OBJECT, runs COMMAND with sh -c,
 * and prints "RUNS NS" — its run count and total run time (kernel.bpf_stats_enabled=1). */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <stdio.h>
#include <stdlib.h>

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
    struct bpf_program *prog = bpf_object__next_program(obj, NULL);
    struct bpf_link *link = prog ? bpf_program__attach(prog) : NULL;
    if (!link) {
        perror("bpf-floor: attach");
        return 1;
    }
    struct bpf_prog_info before = {}, after = {};
    __u32 len = sizeof(before);
    bpf_obj_get_info_by_fd(bpf_program__fd(prog), &before, &len);
    int rc = system(argv[2]);
    len = sizeof(after);
    bpf_obj_get_info_by_fd(bpf_program__fd(prog), &after, &len);
    printf("%llu %llu\n", (unsigned long long)(after.run_cnt - before.run_cnt),
           (unsigned long long)(after.run_time_ns - before.run_time_ns));
    bpf_link__destroy(link);
    bpf_object__close(obj);
    return rc == 0 ? 0 : 1;
}
