/* cpuset: see cpuset.h */
#include "runtime/cpuset.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "util/cleanup.h"
#include "util/fd.h"

#define WORD_BITS (sizeof(unsigned long) * CHAR_BIT)
#define WORDS	  (CPUSET_MAX / WORD_BITS)

static int number(const char **p, unsigned long *ret)
{
	char *end;

	if (**p < '0' || **p > '9')
		return -EINVAL;
	errno = 0;
	*ret = strtoul(*p, &end, 10);
	if (errno || *ret >= CPUSET_MAX)
		return -EINVAL;
	*p = end;
	return 0;
}

int cpuset_parse(const char *list, unsigned long *bits)
{
	const char *p = list;

	memset(bits, 0, WORDS * sizeof(unsigned long));
	while (*p && *p != '\n') {
		unsigned long lo, hi;
		if (number(&p, &lo) < 0)
			return -EINVAL;
		hi = lo;
		if (*p == '-' && (p++, number(&p, &hi) < 0 || hi < lo))
			return -EINVAL;
		for (unsigned long i = lo; i <= hi; i++)
			bits[i / WORD_BITS] |= 1UL << (i % WORD_BITS);
		if (*p == ',')
			p++;
		else if (*p && *p != '\n')
			return -EINVAL;
	}
	return p == list ? -EINVAL : 0;
}

static int check(const char *want, const char *online_file, const char *field, struct error *err)
{
	unsigned long req[WORDS], have[WORDS];
	cleanup_free char *online = NULL;
	size_t len;
	struct error ignored;

	if (!want)
		return 0;
	if (cpuset_parse(want, req) < 0)
		return error_set(err, EINVAL, "config.json: %s: \"%s\" is not a list like 0-3,5",
				 field, want);
	if (fd_read_file(online_file, 65536, &online, &len, &ignored) < 0 ||
	    cpuset_parse(online, have) < 0)
		return 0; /* the host does not say: let the cgroup decide */
	for (size_t i = 0; i < WORDS; i++) {
		if (req[i] & ~have[i])
			return error_set(
			    err, EINVAL,
			    "config.json: %s: \"%s\" is outside this machine (online: %s)", field,
			    want, strtok(online, "\n"));
	}
	return 0;
}

int cpuset_check(const struct spec_resources *res, struct error *err)
{
	int r =
	    check(res->cpu_cpus, "/sys/devices/system/cpu/online", "linux.resources.cpu.cpus", err);
	if (r == 0)
		r = check(res->cpu_mems, "/sys/devices/system/node/online",
			  "linux.resources.cpu.mems", err);
	return r;
}
