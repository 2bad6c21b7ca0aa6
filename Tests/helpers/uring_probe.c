// SPDX-License-Identifier: Apache-2.0
/* Test helper: opens FILE and connects to 127.0.0.1:PORT through io_uring only (no open or
 * connect syscall), the path that bypasses syscall tracepoints. Exit 0 when both completed. */
#include <arpa/inet.h>
#include <fcntl.h>
#include <liburing.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

static int run(struct io_uring *ring, struct io_uring_sqe *sqe)
{
    (void)sqe;
    struct io_uring_cqe *cqe;
    if (io_uring_submit(ring) != 1 || io_uring_wait_cqe(ring, &cqe) != 0)
        return -1000;
    int res = cqe->res;
    io_uring_cqe_seen(ring, cqe);
    return res;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: uring_probe FILE PORT\n");
        return 2;
    }
    struct io_uring ring;
    if (io_uring_queue_init(4, &ring, 0) != 0)
        return 3;
    struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);
    io_uring_prep_openat(sqe, AT_FDCWD, argv[1], O_RDONLY, 0);
    int fd = run(&ring, sqe);
    printf("open %d\n", fd);

    int sock = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = htons(atoi(argv[2])) };
    inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
    sqe = io_uring_get_sqe(&ring);
    io_uring_prep_connect(sqe, sock, (struct sockaddr *)&addr, sizeof(addr));
    int rc = run(&ring, sqe);
    printf("connect %d\n", rc);
    io_uring_queue_exit(&ring);
    return fd >= 0 && rc == 0 ? 0 : 1;
}
