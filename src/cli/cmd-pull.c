/* cmd-pull: `vessel pull [--platform os/arch] [--insecure] [--quiet] REF`. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/engine.h"
#include "image/registry.h"
#include "image/store.h"

enum { P_PLATFORM = 256, P_INSECURE };

static const struct option pull_options[] = {
    {"platform", required_argument, NULL, P_PLATFORM},
    {"insecure", no_argument, NULL, P_INSECURE},
    {"quiet", no_argument, NULL, 'q'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

/* What the progress display remembers between reports. */
struct view {
	FILE *out;
	bool tty;
	size_t drawn;  /* lines drawn last time (tty) */
	bool *printed; /* per layer: its line was printed (not a tty) */
	size_t n_printed;
};

static void human(int64_t bytes, char *buf, size_t size)
{
	static const char *const units[] = {"B", "kB", "MB", "GB", "TB"};
	double v = (double)bytes;
	size_t u = 0;

	while (v >= 1000 && u + 1 < sizeof(units) / sizeof(units[0])) {
		v /= 1000;
		u++;
	}
	snprintf(buf, size, u ? "%.1f%s" : "%.0f%s", v, units[u]);
}

static void eta(int64_t left, double rate, char *buf, size_t size)
{
	long s = rate > 0 ? (long)((double)left / rate + 0.5) : -1;

	if (s < 0)
		snprintf(buf, size, "--");
	else if (s >= 3600)
		snprintf(buf, size, "%ldh%02ldm", s / 3600, s / 60 % 60);
	else if (s >= 60)
		snprintf(buf, size, "%ldm%02lds", s / 60, s % 60);
	else
		snprintf(buf, size, "%lds", s);
}

static void downloading(const struct image_pull_layer *l, char *buf, size_t size)
{
	double secs = (double)l->elapsed_ns / 1e9;
	double rate = secs > 0.05 ? (double)l->done / secs : 0;
	char done[32], total[32], r[32], left[32];

	human(l->done, done, sizeof(done));
	human(l->size, total, sizeof(total));
	human((int64_t)rate, r, sizeof(r));
	eta(l->size - l->done, rate, left, sizeof(left));
	snprintf(buf, size, "Downloading %8s/%-8s %9s/s  ETA %s", done, total, r, left);
}

static void status_text(const struct image_pull_layer *l, char *buf, size_t size)
{
	char total[32];

	switch (l->state) {
	case IMAGE_PULL_WAITING:
		snprintf(buf, size, "Waiting");
		break;
	case IMAGE_PULL_DOWNLOADING:
		downloading(l, buf, size);
		break;
	case IMAGE_PULL_EXTRACTING:
		snprintf(buf, size, "Extracting");
		break;
	case IMAGE_PULL_DONE:
		human(l->size, total, sizeof(total));
		snprintf(buf, size, "Pull complete (%s in %.1fs)", total,
			 (double)l->elapsed_ns / 1e9);
		break;
	case IMAGE_PULL_EXISTS:
		snprintf(buf, size, "Already exists");
		break;
	case IMAGE_PULL_FAILED:
		snprintf(buf, size, "Failed");
		break;
	case IMAGE_PULL_STATE_MAX:
	default:
		snprintf(buf, size, "?");
		break;
	}
}

/* On a terminal: one line per layer, redrawn in place (cursor up, clear line). */
static void draw_tty(struct view *v, const struct image_pull_layer *layers, size_t n)
{
	char line[160];

	if (v->drawn)
		fprintf(v->out, "\033[%zuA", v->drawn);
	for (size_t i = 0; i < n; i++) {
		status_text(&layers[i], line, sizeof(line));
		fprintf(v->out, "\r\033[K%.12s: %s\n", image_digest_hex(layers[i].digest), line);
	}
	v->drawn = n;
	fflush(v->out);
}

/* Elsewhere: a plain line when a layer is done. */
static void draw_plain(struct view *v, const struct image_pull_layer *layers, size_t n)
{
	char line[160];

	if (!v->printed) {
		v->printed = calloc(n + 1, sizeof(bool));
		if (!v->printed)
			return;
		v->n_printed = n;
	}
	for (size_t i = 0; i < n && i < v->n_printed; i++) {
		if (v->printed[i] ||
		    (layers[i].state != IMAGE_PULL_DONE && layers[i].state != IMAGE_PULL_EXISTS))
			continue;
		status_text(&layers[i], line, sizeof(line));
		fprintf(v->out, "%.12s: %s\n", image_digest_hex(layers[i].digest), line);
		v->printed[i] = true;
	}
	fflush(v->out);
}

static void on_progress(void *opaque, const struct image_pull_layer *layers, size_t n)
{
	struct view *v = opaque;

	if (v->tty)
		draw_tty(v, layers, n);
	else
		draw_plain(v, layers, n);
}

static int usage(FILE *f, int status)
{
	fprintf(f, "usage: vessel pull [--platform os/arch[/variant]] [--insecure] [--quiet] REF\n"
		   "  --platform   the image for this platform from a multi-platform index "
		   "(default linux/amd64)\n"
		   "  --insecure   plain HTTP to this registry (always for loopback registries)\n"
		   "  -q, --quiet  print only the digest\n"
		   "Credentials: $REGISTRY_AUTH_FILE or ~/.docker/config.json (\"credHelpers\", "
		   "\"credsStore\", \"auths\").\n");
	return status;
}

static int do_pull(const struct cli_engine *e, const char *ref, struct image_pull_opts *o,
		   bool quiet)
{
	struct view v = {.out = stderr, .tty = isatty(STDERR_FILENO) == 1};
	struct image_pull_result res;
	struct image_store *store = NULL;
	struct error err = {0};
	char size[32];
	int r;

	if (!quiet) {
		o->progress = on_progress;
		o->opaque = &v;
		fprintf(stderr, "Pulling %s\n", ref);
	}
	r = image_store_open(e->paths.store, &store, &err);
	if (r >= 0)
		r = image_registry_pull(store, ref, o, &res, &err);
	image_store_free(store);
	free(v.printed);
	if (r < 0)
		return cli_engine_fail(e, &err);
	if (quiet) {
		printf("%s\n", res.digest);
		return 0;
	}
	human(res.bytes, size, sizeof(size));
	fprintf(stderr, "Digest: %s\nStatus: Downloaded %s for %s\n", res.digest, size, res.name);
	printf("%s\n", res.name);
	return 0;
}

int cli_pull(const struct cli_engine *e, int argc, char **argv)
{
	struct image_pull_opts o = {0};
	bool quiet = false;
	int c;

	optind = 0;
	while ((c = getopt_long(argc, argv, "+qh", pull_options, NULL)) != -1) {
		switch (c) {
		case P_PLATFORM:
			o.platform = optarg;
			break;
		case P_INSECURE:
			o.insecure = true;
			break;
		case 'q':
			quiet = true;
			break;
		case 'h':
			return usage(stdout, 0);
		default:
			return usage(stderr, 125);
		}
	}
	if (argc - optind != 1)
		return usage(stderr, 125);
	return do_pull(e, argv[optind], &o, quiet);
}
