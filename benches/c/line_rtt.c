/* The cache-line round trip beside an 8-byte message's round trip over
 * a ring of slots laid out as mpmt's shm-spin lays them (a 32-bit stamp
 * and the message in one line, a slot every 128 bytes, the receiver's
 * `taken` count in a line of its own, reread by the sender only when the
 * ring looks full), measured in alternating blocks of a few milliseconds
 * so that a host that moves its vCPUs moves both figures alike.
 *
 *   line_rtt [CPU_A CPU_B [BLOCKS]]     (default 0 1 41)
 *
 * Prints, per block pair, the floor and the ring's round trip in ns and
 * their ratio, then the medians. Two threads of one process; the ring
 * costs the same between processes (the lines are the same lines).
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define N 2000      /* round trips a block */
#define SLOTS 16
#define STRIDE 128
#define LINE 64

struct line { _Alignas(128) volatile uint64_t v; char pad[120]; };
struct ring {
	_Alignas(128) volatile uint32_t taken; char pad[124];
	_Alignas(128) unsigned char slots[SLOTS * STRIDE];
};

static struct line ping, pong;
static struct ring ab, ba;
static volatile int mode = 0; /* 0 floor, 1 ring, -1 stop */
static volatile uint64_t go;  /* block number the echo may start */
static volatile uint64_t done;
static int cpu_b;

static void pin(int cpu)
{
	cpu_set_t s;
	CPU_ZERO(&s);
	CPU_SET(cpu, &s);
	if (sched_setaffinity(0, sizeof s, &s)) {
		perror("sched_setaffinity");
		exit(1);
	}
}

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e9 + t.tv_nsec;
}

static inline volatile uint32_t *stamp(struct ring *r, uint64_t n)
{
	return (volatile uint32_t *)&r->slots[(n % SLOTS) * STRIDE];
}

static inline volatile uint64_t *payload(struct ring *r, uint64_t n)
{
	return (volatile uint64_t *)&r->slots[(n % SLOTS) * STRIDE + 8];
}

struct end { struct ring *r; uint64_t next, seen; };

static inline void ring_send(struct end *e, uint64_t v)
{
	uint64_t n = e->next;
	while (n - e->seen >= SLOTS) {
		uint32_t t = __atomic_load_n(&e->r->taken, __ATOMIC_ACQUIRE);
		e->seen += (uint32_t)(t - (uint32_t)e->seen);
		if (n - e->seen >= SLOTS)
			__builtin_ia32_pause();
	}
	*payload(e->r, n) = v;
	__atomic_store_n(stamp(e->r, n), (uint32_t)(n + 1), __ATOMIC_RELEASE);
	e->next++;
}

static inline uint64_t ring_recv(struct end *e)
{
	uint64_t n = e->next;
	volatile uint32_t *s = stamp(e->r, n);
	while (__atomic_load_n(s, __ATOMIC_ACQUIRE) != (uint32_t)(n + 1))
		__builtin_ia32_pause();
	uint64_t v = *payload(e->r, n);
	__atomic_store_n(&e->r->taken, (uint32_t)(n + 1), __ATOMIC_RELEASE);
	e->next++;
	return v;
}

static void *echo(void *arg)
{
	(void)arg;
	pin(cpu_b);
	struct end in = { &ab, 0, 0 }, out = { &ba, 0, 0 };
	uint64_t last = 0, block = 0;
	for (;;) {
		while (go == block)
			__builtin_ia32_pause();
		block = go;
		if (mode < 0)
			return NULL;
		if (mode == 0) {
			for (int i = 0; i < N; i++) {
				uint64_t v;
				while ((v = __atomic_load_n(&ping.v, __ATOMIC_ACQUIRE)) == last)
					__builtin_ia32_pause();
				last = v;
				__atomic_store_n(&pong.v, v, __ATOMIC_RELEASE);
			}
		} else {
			for (int i = 0; i < N; i++) {
				uint64_t v = ring_recv(&in);
				ring_send(&out, v ^ 0x5a5a5a5a5a5a5a5aULL);
			}
		}
		done = block;
	}
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
	int cpu_a = argc > 2 ? atoi(argv[1]) : 0;
	cpu_b = argc > 2 ? atoi(argv[2]) : 1;
	int blocks = argc > 3 ? atoi(argv[3]) : 41;
	double *fl = malloc(blocks * sizeof *fl), *rg = malloc(blocks * sizeof *rg),
	       *ra = malloc(blocks * sizeof *ra);
	pthread_t t;
	pin(cpu_a);
	if (pthread_create(&t, NULL, echo, NULL)) {
		perror("pthread_create");
		return 1;
	}
	struct end out = { &ab, 0, 0 }, in = { &ba, 0, 0 };
	uint64_t seq = 0, block = 0;
	for (int b = -3; b < blocks; b++) {
		double ns[2];
		for (int m = 0; m < 2; m++) {
			mode = m;
			go = ++block;
			double t0 = now();
			if (m == 0) {
				for (int i = 0; i < N; i++) {
					__atomic_store_n(&ping.v, ++seq, __ATOMIC_RELEASE);
					while (__atomic_load_n(&pong.v, __ATOMIC_ACQUIRE) != seq)
						__builtin_ia32_pause();
				}
			} else {
				for (int i = 0; i < N; i++) {
					uint64_t v = ++seq;
					ring_send(&out, v);
					if (ring_recv(&in) != (v ^ 0x5a5a5a5a5a5a5a5aULL)) {
						fprintf(stderr, "line_rtt: a reply did not match\n");
						return 1;
					}
				}
			}
			ns[m] = (now() - t0) / N;
			while (done != block)
				__builtin_ia32_pause();
		}
		if (b >= 0) {
			fl[b] = ns[0];
			rg[b] = ns[1];
			ra[b] = ns[1] / ns[0];
		}
	}
	mode = -1;
	go = ++block;
	pthread_join(t, NULL);
	qsort(fl, blocks, sizeof *fl, cmp);
	qsort(rg, blocks, sizeof *rg, cmp);
	qsort(ra, blocks, sizeof *ra, cmp);
	printf("cpu%d<->cpu%d, %d block pairs of %d round trips: floor %.1f ns, "
	       "8-byte ring %.1f ns, ring/floor %.2f (pairs %.2f to %.2f)\n",
	       cpu_a, cpu_b, blocks, N, fl[blocks / 2], rg[blocks / 2], ra[blocks / 2],
	       ra[0], ra[blocks - 1]);
	return 0;
}
