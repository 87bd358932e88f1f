/* cli: see cli.h */
#include "cli/cli.h"

#include <string.h>

#include "cli/engine.h"

int cli_main(int argc, char **argv)
{
	const char *base = strrchr(argv[0], '/');

	base = base ? base + 1 : argv[0];
	if (strstr(base, "runc"))
		return cli_oci_main("vessel-runc", argc, argv, 0);
	if (argc >= 2 && !strcmp(argv[1], "oci"))
		return cli_oci_main("vessel oci", argc, argv, 1);
	return cli_engine_main(argc, argv);
}
