/* signals: signal names as runc accepts them ("TERM", "SIGTERM", "15"). */
#ifndef VESSEL_CLI_SIGNALS_H
#define VESSEL_CLI_SIGNALS_H

/* Returns the signal number, or -1 if s names no signal. */
int signal_parse(const char *s);

#endif
