/* engine-paths: the engine's global flags, shared by vessel and vessel-vmm (see cli/engine.h). */
#include "cli/engine.h"

#include <getopt.h>
#include <stdlib.h>

#include "image/store.h"

enum { E_ROOT = 256, E_STATE };

static const struct option engine_options[] = {
    {"root", required_argument, NULL, E_ROOT},
    {"state", required_argument, NULL, E_STATE},
    {NULL, 0, NULL, 0},
};

int cli_engine_paths(struct engine_paths *paths, int argc, char **argv)
{
	const char *root = getenv("VESSEL_ROOT"), *state = getenv("VESSEL_STATE");
	int c;

	paths->store = root && *root ? root : IMAGE_STORE_DEFAULT_ROOT;
	paths->state = state && *state ? state : CLI_ENGINE_STATE_DEFAULT;
	optind = 0;
	while ((c = getopt_long(argc, argv, "+", engine_options, NULL)) != -1) {
		if (c == E_ROOT)
			paths->store = optarg;
		else if (c == E_STATE)
			paths->state = optarg;
		else
			return -1;
	}
	return optind;
}
