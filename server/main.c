/*
 * server/main.c
 *	  dermsd: parse the command line, load the configuration, and become
 *	  the supervisor.
 *
 * NOTES
 *	  Exit codes: 0 stopped on request, 1 orderly failure, 78 bad
 *	  configuration (so systemd's RestartPreventExitStatus can hold it).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "log.h"
#include "supervisor.h"
#include "version.h"

static void
usage(FILE *out)
{
	fprintf(out,
			"Usage: dermsd -c FILE [--check-config]\n"
			"\n"
			"  -c, --config FILE   configuration file (INI)\n"
			"      --check-config  validate the configuration and the certificates it\n"
			"                      names, then exit (0 valid, 78 invalid)\n"
			"      --example-config  print the documented example configuration\n"
			"  -V, --version       print the version and exit\n"
			"  -h, --help          this help\n");
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"config", required_argument, NULL, 'c'},
		{"check-config", no_argument, NULL, 'C'},
		{"example-config", no_argument, NULL, 'E'},
		{"version", no_argument, NULL, 'V'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0}
	};
	const char *path = NULL;
	bool		check_only = false;
	derms_config cfg;
	derms_err	err;
	int			c;

	log_init("dermsd");
	while ((c = getopt_long(argc, argv, "c:Vh", longopts, NULL)) != -1)
	{
		switch (c)
		{
			case 'c':
				path = optarg;
				break;
			case 'C':
				check_only = true;
				break;
			case 'E':
				config_write_example(stdout);
				return 0;
			case 'V':
				printf("dermsd %s\n", DERMS_VERSION);
				return 0;
			case 'h':
				usage(stdout);
				return 0;
			default:
				usage(stderr);
				return 2;
		}
	}
	if (path == NULL || optind != argc)
	{
		usage(stderr);
		return 2;
	}

	if (config_load(path, &cfg, &err) != DERMS_OK)
	{
		log_msg(LOG_ERR, "invalid configuration: %s", err.msg);
		return DERMS_EXIT_CONFIG;
	}
	if (supervisor_check_tls(&cfg, &err) != DERMS_OK)
	{
		log_msg(LOG_ERR, "invalid configuration: %s", err.msg);
		config_free(&cfg);
		return DERMS_EXIT_CONFIG;
	}
	if (check_only)
	{
		printf("configuration \"%s\" is valid\n", path);
		config_free(&cfg);
		return 0;
	}
	c = supervisor_run(&cfg);
	config_free(&cfg);
	return c;
}
