/*
 * The plain C loop mpmt's false-sharing figures are checked against: two
 * threads pinned to CPUs 0 and 1, each adding 1 to its own counter, the
 * counters 8 bytes apart (one cache line) or 128 bytes apart, written two
 * ways in the same instructions as mpmt's own_loop (x86-64 asm, so no
 * compiler picks its own): a store (load, add, store; 10^7 times) and an
 * atomic (`lock add`; 10^6 times). ns per increment over both threads'
 * increments (the writers stamp their own start and end: main shares the
 * two CPUs with them and would time late), median of 21. Build and run
 * with `make c-baselines`.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

enum { RUNS = 21 };

static _Alignas(128) unsigned char slots[512];
static pthread_barrier_t start;

struct arg {
	int cpu, atomic;
	long k;
	volatile uint64_t *c;
	double start, end;
};

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e9 + t.tv_nsec;
}

static void *writer(void *p)
{
	struct arg *a = p;
	cpu_set_t s;
	CPU_ZERO(&s);
	CPU_SET(a->cpu, &s);
	pthread_setaffinity_np(pthread_self(), sizeof s, &s);
	pthread_barrier_wait(&start);
	a->start = now();
	if (a->atomic)
		__asm__ volatile("2:\n\t"
				 "lock addq $1, %0\n\t"
				 "decq %1\n\t"
				 "jnz 2b"
				 : "+m"(*a->c), "+r"(a->k));
	else
		__asm__ volatile("2:\n\t"
				 "movq %0, %%rax\n\t"
				 "addq $1, %%rax\n\t"
				 "movq %%rax, %0\n\t"
				 "decq %1\n\t"
				 "jnz 2b"
				 : "+m"(*a->c), "+r"(a->k)
				 :
				 : "rax");
	a->end = now();
	return NULL;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double run(int stride, int atomic, long k)
{
	double v[RUNS];
	for (int r = 0; r < RUNS; r++) {
		struct arg a[2] = {{0, atomic, k, (volatile uint64_t *)slots, 0, 0},
				   {1, atomic, k, (volatile uint64_t *)(slots + stride), 0, 0}};
		*a[0].c = *a[1].c = 0;
		pthread_t t[2];
		pthread_barrier_init(&start, NULL, 3);
		for (int i = 0; i < 2; i++)
			pthread_create(&t[i], NULL, writer, &a[i]);
		pthread_barrier_wait(&start);
		for (int i = 0; i < 2; i++)
			pthread_join(t[i], NULL);
		double t0 = a[0].start < a[1].start ? a[0].start : a[1].start;
		double t1 = a[0].end > a[1].end ? a[0].end : a[1].end;
		v[r] = (t1 - t0) / (2.0 * k);
		pthread_barrier_destroy(&start);
		if (*a[0].c != (uint64_t)k || *a[1].c != (uint64_t)k) {
			fprintf(stderr, "lost an increment\n");
			exit(1);
		}
	}
	qsort(v, RUNS, sizeof v[0], cmp);
	return v[RUNS / 2];
}

int main(void)
{
	static const struct {
		const char *name;
		int atomic;
		long k;
	} w[] = {{"store", 0, 10000000}, {"atomic", 1, 1000000}};
	for (int i = 0; i < 2; i++) {
		double packed = run(8, w[i].atomic, w[i].k), padded = run(128, w[i].atomic, w[i].k);
		printf("false sharing, 2 threads on CPUs 0 and 1, %s: packed %.2f ns, padded %.2f ns per increment (%.1fx)\n",
		       w[i].name, packed, padded, packed / padded);
	}
	return 0;
}
