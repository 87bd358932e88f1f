/* vessel-runc: the OCI runtime alone, the same runc surface as `vessel oci`. Its own binary of
 * only what that surface reaches, so that each runtime call loads none of the engine's libraries
 * (curl, archive, crypto). Its sealed re-exec (runtime/exe-seal.c) re-runs this binary. */
#include "cli/cli.h"

int main(int argc, char **argv)
{
	return cli_oci_main("vessel-runc", argc, argv, 0);
}
