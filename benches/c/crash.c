/* crash: the plain C loop mpmt's crash figures are checked against.
 *
 * W workers (processes, or threads in one child process) each fill and
 * read back 64 KiB blocks of a shared mapping, adding each block to a
 * ledger under one robust process-shared mutex. Halfway through its
 * blocks, once the others have reached theirs (they wait until it holds
 * the lock), the last worker takes the lock, stamps CLOCK_MONOTONIC and
 * writes through a null pointer while holding it. The parent polls the
 * pidfds of its children (the workers, or the one child holding the
 * threads) and stamps the moment it knows one died of SIGSEGV: detect.
 * A surviving process's next lock returns EOWNERDEAD: it stamps that
 * (owner-dead). Prints the medians over the runs.
 *
 *   crash <process|thread> <workers> <units> <runs>
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/futex.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define BLOCK (64 << 10)

struct ctl {
    pthread_mutex_t m;
    uint64_t total, fault_ns, owner_dead_ns;
    uint32_t half, held;
};

static struct ctl *ctl;
static unsigned char *blocks;
static int W, U;

static uint64_t now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000u + t.tv_nsec;
}

static void fwait(uint32_t *word, uint32_t seen) {
    struct timespec t = {0, 20000000};
    syscall(SYS_futex, word, FUTEX_WAIT, seen, &t, NULL, 0);
}

static void fwake(uint32_t *word) {
    syscall(SYS_futex, word, FUTEX_WAKE, 1 << 30, NULL, NULL, 0);
}

/* As mpmt does: the others count in halfway and wait until the victim
 * holds the lock; it waits for them, takes it and faults holding it. */
static void halfway(int victim) {
    if (!victim) {
        if (__atomic_add_fetch(&ctl->half, 1, __ATOMIC_ACQ_REL) == (uint32_t)(W - 1))
            fwake(&ctl->half);
        while (!__atomic_load_n(&ctl->held, __ATOMIC_ACQUIRE))
            fwait(&ctl->held, 0);
        return;
    }
    uint32_t n;
    while ((n = __atomic_load_n(&ctl->half, __ATOMIC_ACQUIRE)) < (uint32_t)(W - 1))
        fwait(&ctl->half, n);
    if (pthread_mutex_lock(&ctl->m) == EOWNERDEAD)
        pthread_mutex_consistent(&ctl->m);
    __atomic_store_n(&ctl->held, 1, __ATOMIC_RELEASE);
    fwake(&ctl->held);
    ctl->total++;
    __atomic_store_n(&ctl->fault_ns, now(), __ATOMIC_RELEASE);
    *(volatile char *)(uintptr_t)0 = 1;
}

static void work(int w, int victim) {
    for (int u = 0; u < U; u++) {
        if (u == U / 2)
            halfway(victim);
        uint64_t *b = (uint64_t *)(blocks + ((size_t)w * U + u) * BLOCK);
        for (size_t i = 0; i < BLOCK / 8; i++)
            b[i] = (uint64_t)w * 1000003u + u + i;
        for (size_t i = 0; i < BLOCK / 8; i++)
            if (((volatile uint64_t *)b)[i] != (uint64_t)w * 1000003u + u + i)
                abort();
        int r = pthread_mutex_lock(&ctl->m);
        if (r == EOWNERDEAD) {
            __atomic_store_n(&ctl->owner_dead_ns, now(), __ATOMIC_RELEASE);
            pthread_mutex_consistent(&ctl->m);
        }
        ctl->total++;
        pthread_mutex_unlock(&ctl->m);
    }
}

static void *thread_main(void *arg) {
    int w = (int)(intptr_t)arg;
    work(w, w == W - 1);
    return NULL;
}

static int cmp(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
    if (argc != 5) {
        fprintf(stderr, "usage: crash <process|thread> <workers> <units> <runs>\n");
        return 2;
    }
    int threads = strcmp(argv[1], "thread") == 0;
    W = atoi(argv[2]);
    U = atoi(argv[3]);
    int runs = atoi(argv[4]);
    struct rlimit nocore = {0, 0};
    setrlimit(RLIMIT_CORE, &nocore);
    uint64_t *detect = calloc(runs, 8), *owner = calloc(runs, 8);
    int owners = 0;
    for (int run = 0; run < runs; run++) {
        size_t len = 4096 + (size_t)W * U * BLOCK;
        void *mem = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        ctl = mem;
        blocks = (unsigned char *)mem + 4096;
        pthread_mutexattr_t a;
        pthread_mutexattr_init(&a);
        pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
        pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
        pthread_mutex_init(&ctl->m, &a);
        /* BUSY=<ms>: the parent computes that long before it forks, as a
         * harness that has just checked the last run's blocks does. */
        if (getenv("BUSY")) {
            uint64_t until = now() + (uint64_t)atoi(getenv("BUSY")) * 1000000u;
            volatile uint64_t x = 0;
            while (now() < until)
                x++;
        }
        int n = threads ? 1 : W;
        pid_t pids[64];
        int fds[64];
        for (int i = 0; i < n; i++) {
            pids[i] = fork();
            if (pids[i] == 0) {
                if (threads) {
                    pthread_t t[64];
                    for (int w = 0; w < W; w++)
                        pthread_create(&t[w], NULL, thread_main, (void *)(intptr_t)w);
                    for (int w = 0; w < W; w++)
                        pthread_join(t[w], NULL);
                } else {
                    work(i, i == W - 1);
                }
                _exit(0);
            }
            fds[i] = (int)syscall(SYS_pidfd_open, pids[i], 0);
        }
        int dead = -1;
        uint64_t seen = 0;
        int open = n;
        while (dead < 0 && open > 0) {
            struct pollfd p[64];
            for (int i = 0; i < n; i++)
                p[i] = (struct pollfd){fds[i] >= 0 ? fds[i] : -1, POLLIN, 0};
            poll(p, n, 1000);
            for (int i = 0; i < n && dead < 0; i++) {
                if (!(p[i].revents & POLLIN))
                    continue;
                siginfo_t si = {0};
                waitid(P_PID, pids[i], &si, WEXITED | WNOHANG | WNOWAIT);
                if (si.si_pid == 0)
                    continue;
                if (si.si_code == CLD_EXITED && si.si_status == 0) {
                    close(fds[i]);
                    fds[i] = -1;
                    open--;
                } else {
                    seen = now();
                    dead = i;
                }
            }
        }
        for (int i = 0; i < n; i++) {
            waitpid(pids[i], NULL, 0);
            if (fds[i] >= 0)
                close(fds[i]);
        }
        detect[run] = seen - ctl->fault_ns;
        if (ctl->owner_dead_ns)
            owner[owners++] = ctl->owner_dead_ns - ctl->fault_ns;
        munmap(mem, len);
    }
    qsort(detect, runs, 8, cmp);
    qsort(owner, owners, 8, cmp);
    printf("crash %s workers=%d units=%d: detect median %.1f us", argv[1], W, U,
           detect[runs / 2] / 1e3);
    if (owners)
        printf(", owner-dead median %.1f us (%d runs)", owner[owners / 2] / 1e3, owners);
    printf(" over %d runs\n", runs);
    return 0;
}
