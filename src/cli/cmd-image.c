/* cmd-image: `vessel images`, `import`, `save`, `rmi` and `inspect`. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli/engine.h"
#include "engine/images.h"
#include "engine/manage.h"

/* getopt_long, silent (opterr 0), flags allowed after arguments as with docker
 * (`save busybox -o x.tar`); on '?' or ':' err says what was wrong. */
static int next_flag(int argc, char **argv, const char *shortopts, const struct option *longopts,
		     const char *cmd, struct error *err)
{
	int c = getopt_long(argc, argv, shortopts, longopts, NULL);

	if (c == '?' || c == ':')
		error_set(err, EINVAL,
			  "%s: unknown flag or missing value: %s (see vessel %s --help)", cmd,
			  argv[optind - 1], cmd);
	return c;
}

static int done(const struct cli_engine *e, int r, const struct error *err)
{
	return r < 0 ? cli_engine_fail(e, err) : 0;
}

static int help(const char *usage)
{
	printf("usage: vessel %s\n", usage);
	return 0;
}

int cli_images(const struct cli_engine *e, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"format", required_argument, NULL, 'f'},
	    {"quiet", no_argument, NULL, 'q'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	enum engine_images_format format = ENGINE_IMAGES_TABLE;
	struct error err;
	int c;

	opterr = 0;
	optind = 0;
	while ((c = next_flag(argc, argv, "qh", opts, "images", &err)) != -1) {
		if (c == 'h')
			return help("images [--format table|json] [-q]");
		if (c == 'q')
			format = ENGINE_IMAGES_QUIET;
		else if (c == 'f' && !strcmp(optarg, "json"))
			format = format == ENGINE_IMAGES_QUIET ? format : ENGINE_IMAGES_JSON;
		else if (c == 'f' && strcmp(optarg, "table"))
			return done(e,
				    error_set(&err, EINVAL,
					      "images: --format %s: expected table or json",
					      optarg),
				    &err);
		else if (c != 'f')
			return done(e, -EINVAL, &err);
	}
	if (optind < argc)
		return done(e,
			    error_set(&err, EINVAL, "images: unexpected argument %s", argv[optind]),
			    &err);
	return done(e, engine_images_list(&e->paths, format, stdout, &err), &err);
}

int cli_import(const struct cli_engine *e, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct error err;
	int c;

	opterr = 0;
	optind = 0;
	while ((c = next_flag(argc, argv, "h", opts, "import", &err)) != -1) {
		if (c == 'h')
			return help(
			    "import FILE|DIR [NAME]   (OCI layout dir or tar, docker-archive)");
		return done(e, -EINVAL, &err);
	}
	if (optind >= argc || argc - optind > 2)
		return done(e, error_set(&err, EINVAL, "import: expected FILE|DIR [NAME]"), &err);
	const char *name = argc - optind == 2 ? argv[optind + 1] : NULL;
	return done(e, engine_images_import(&e->paths, argv[optind], name, stdout, &err), &err);
}

int cli_save(const struct cli_engine *e, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"output", required_argument, NULL, 'o'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *output = NULL;
	struct error err;
	int c;

	opterr = 0;
	optind = 0;
	while ((c = next_flag(argc, argv, "o:h", opts, "save", &err)) != -1) {
		if (c == 'h')
			return help("save IMAGE -o FILE   (an OCI layout tar)");
		if (c != 'o')
			return done(e, -EINVAL, &err);
		output = optarg;
	}
	if (!output || !*output)
		return done(e, error_set(&err, EINVAL, "save: -o FILE is required"), &err);
	if (argc - optind != 1)
		return done(e, error_set(&err, EINVAL, "save: expected one IMAGE"), &err);
	return done(e, engine_images_save(&e->paths, argv[optind], output, &err), &err);
}

int cli_rmi(const struct cli_engine *e, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"force", no_argument, NULL, 'f'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	bool force = false;
	struct error err;
	int c;

	opterr = 0;
	optind = 0;
	while ((c = next_flag(argc, argv, "fh", opts, "rmi", &err)) != -1) {
		if (c == 'h')
			return help("rmi [-f] IMAGE...");
		if (c != 'f')
			return done(e, -EINVAL, &err);
		force = true;
	}
	if (optind >= argc)
		return done(e, error_set(&err, EINVAL, "rmi: expected IMAGE..."), &err);
	return done(e,
		    engine_images_remove(&e->paths, argv + optind, (size_t)(argc - optind), force,
					 stdout, &err),
		    &err);
}

int cli_inspect(const struct cli_engine *e, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct error err;
	int c;

	opterr = 0;
	optind = 0;
	while ((c = next_flag(argc, argv, "h", opts, "inspect", &err)) != -1) {
		if (c == 'h')
			return help("inspect IMAGE... | CONTAINER");
		return done(e, -EINVAL, &err);
	}
	if (optind >= argc)
		return done(e, error_set(&err, EINVAL, "inspect: expected IMAGE..."), &err);
	if (argc - optind == 1 &&
	    engine_inspect_container(&e->paths, argv[optind], stdout, &err) == 0)
		return 0; /* a container of that name or id */
	return done(
	    e,
	    engine_images_inspect(&e->paths, argv + optind, (size_t)(argc - optind), stdout, &err),
	    &err);
}
