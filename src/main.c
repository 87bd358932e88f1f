/* vessel: one binary; invoked as vessel-runc it is the OCI runtime (see cli/cli.c). */
#include "cli/cli.h"

int main(int argc, char **argv)
{
	return cli_main(argc, argv);
}
