// SPDX-License-Identifier: Apache-2.0
/* Test helper: opens /etc/hostname with the 32-bit `int $0x80` open (syscall 5) from a 64-bit
 * process — the path that bypasses sys_enter_openat. Built -no-pie so the string is below 4 GiB. */
#include <stdio.h>

static const char path[] = "/etc/hostname";

int main(void)
{
    long fd;
    __asm__ volatile("int $0x80" : "=a"(fd) : "a"(5), "b"(path), "c"(0), "d"(0) : "memory");
    printf("fd %ld\n", fd);
    return fd >= 0 ? 0 : 1;
}
