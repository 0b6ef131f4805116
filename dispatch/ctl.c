/*
 * dispatch/ctl.c
 *	  "dermsctl dispatch ...": offline solves and the instance generator.
 *
 *	  dermsctl dispatch solve --input FILE --output FILE [--exact] [--csv FILE]
 *	  dermsctl dispatch generate --tier XS|S|M|L --seed N [--output FILE]
 *
 * NOTES
 *	  Exit codes: 0 done; 1 a solver or I/O failure; 2 bad usage or bad
 *	  input (the message names the field).  Infeasible targets are not an
 *	  error: the schedule reports the shortfall.  One arena owns the
 *	  instance; schedules are freed here.
 */
#include "ctl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dispatch/check.h"
#include "dispatch/coord.h"
#include "dispatch/exact.h"
#include "dispatch/generate.h"
#include "dispatch/instance.h"
#include "dispatch/output.h"
#include "server/arena.h"

static int
usage(void)
{
	fprintf(stderr,
			"usage: dermsctl dispatch solve --input FILE --output FILE [--exact] [--csv FILE]\n"
			"       dermsctl dispatch generate --tier XS|S|M|L --seed N [--output FILE]\n");
	return 2;
}

/* "--name value" options; returns NULL when absent. */
static const char *
opt(int argc, char **argv, const char *name)
{
	for (int i = 2; i + 1 < argc; i++)
		if (strcmp(argv[i], name) == 0)
			return argv[i + 1];
	return NULL;
}

static int
flag(int argc, char **argv, const char *name)
{
	for (int i = 2; i < argc; i++)
		if (strcmp(argv[i], name) == 0)
			return 1;
	return 0;
}

/* Every argument must be a known option (with its value). */
static int
args_ok(int argc, char **argv, const char *const *valued, const char *const *flags)
{
	for (int i = 2; i < argc; i++)
	{
		int			ok = 0;

		for (int j = 0; valued[j]; j++)
			if (strcmp(argv[i], valued[j]) == 0 && i + 1 < argc)
			{
				ok = 1;
				i++;
				break;
			}
		for (int j = 0; !ok && flags[j]; j++)
			if (strcmp(argv[i], flags[j]) == 0)
				ok = 1;
		if (!ok)
		{
			fprintf(stderr, "dermsctl: dispatch: unexpected argument \"%s\"\n", argv[i]);
			return 0;
		}
	}
	return 1;
}

static int
write_file(const char *path, const dispatch_instance *in,
		   const dispatch_schedule *s,
		   derms_rc (*fn) (const dispatch_instance *, const dispatch_schedule *,
						   FILE *, derms_err *))
{
	FILE	   *f = strcmp(path, "-") == 0 ? stdout : fopen(path, "w");
	derms_err	err;
	derms_rc	rc;

	if (f == NULL)
	{
		fprintf(stderr, "dermsctl: dispatch: could not open \"%s\": %m\n", path);
		return 1;
	}
	rc = fn(in, s, f, &err);
	if (f != stdout && fclose(f) != 0 && rc == DERMS_OK)
		rc = derms_err_set(&err, DERMS_EIO, "could not write \"%s\"", path);
	if (rc != DERMS_OK)
	{
		fprintf(stderr, "dermsctl: dispatch: %s\n", err.msg);
		return 1;
	}
	return 0;
}

static int
cmd_solve(int argc, char **argv)
{
	static const char *const valued[] = {"--input", "--output", "--csv", NULL};
	static const char *const flags[] = {"--exact", NULL};
	const char *inp = opt(argc, argv, "--input"),
			   *outp = opt(argc, argv, "--output"),
			   *csv = opt(argc, argv, "--csv");
	arena	   *a;
	dispatch_instance *in;
	dispatch_schedule *s = NULL;
	derms_err	err;
	derms_rc	rc;
	int			status = 0,
				nbad;

	if (!args_ok(argc, argv, valued, flags) || inp == NULL || outp == NULL)
		return usage();
	a = arena_create(0);
	if (a == NULL)
	{
		fprintf(stderr, "dermsctl: dispatch: out of memory\n");
		return 1;
	}
	rc = dispatch_instance_load(a, inp, &in, &err);
	if (rc != DERMS_OK)
	{
		fprintf(stderr, "dermsctl: dispatch: %s: %s\n", inp, err.msg);
		arena_destroy(a);
		return rc == DERMS_EIO || rc == DERMS_ENOMEM ? 1 : 2;
	}
	if (flag(argc, argv, "--exact"))
		rc = dispatch_exact_solve(in, &s, &err);
	else
		rc = dispatch_coord_solve(in, &s, &err);
	if (rc != DERMS_OK)
	{
		fprintf(stderr, "dermsctl: dispatch: %s: %s\n", inp, err.msg);
		arena_destroy(a);
		return rc == DERMS_ERANGE || rc == DERMS_EINVAL ? 2 : 1;
	}
	nbad = dispatch_check_schedule(in, s, 1e-6, &err);
	if (nbad != 0)
		fprintf(stderr, "dermsctl: dispatch: warning: %d limit violations, first: %s\n",
				nbad, err.msg);
	fprintf(stderr, "dermsctl: dispatch: %s: cost %.6f bound %.6f gap %.4f%% "
			"shortfall %.6f MWh iterations %d in %.3f s\n",
			s->method, s->cost.total, s->lower_bound, 100.0 * s->gap,
			s->shortfall_mwh, s->iterations, s->seconds);
	status = write_file(outp, in, s, dispatch_output_json);
	if (status == 0 && csv != NULL)
		status = write_file(csv, in, s, dispatch_output_csv);
	dispatch_schedule_free(s);
	arena_destroy(a);
	return status;
}

static int
cmd_generate(int argc, char **argv)
{
	static const char *const valued[] = {"--tier", "--seed", "--output", NULL};
	static const char *const flags[] = {NULL};
	const char *tier = opt(argc, argv, "--tier"),
			   *seed = opt(argc, argv, "--seed"),
			   *outp = opt(argc, argv, "--output");
	dispatch_gen g;
	derms_err	err;
	char	   *end;
	unsigned long long sd;
	FILE	   *f;
	derms_rc	rc;

	if (!args_ok(argc, argv, valued, flags) || tier == NULL || seed == NULL)
		return usage();
	sd = strtoull(seed, &end, 10);
	if (*seed == '\0' || *end != '\0')
	{
		fprintf(stderr, "dermsctl: dispatch: --seed: \"%s\" is not a number\n", seed);
		return 2;
	}
	if (dispatch_gen_tier(tier, &g, &err) != DERMS_OK)
	{
		fprintf(stderr, "dermsctl: dispatch: --tier: %s\n", err.msg);
		return 2;
	}
	f = (outp == NULL || strcmp(outp, "-") == 0) ? stdout : fopen(outp, "w");
	if (f == NULL)
	{
		fprintf(stderr, "dermsctl: dispatch: could not open \"%s\": %m\n", outp);
		return 1;
	}
	rc = dispatch_gen_write(&g, sd, f, &err);
	if (f != stdout && fclose(f) != 0 && rc == DERMS_OK)
		rc = derms_err_set(&err, DERMS_EIO, "could not write \"%s\"", outp);
	if (rc != DERMS_OK)
	{
		fprintf(stderr, "dermsctl: dispatch: %s\n", err.msg);
		return 1;
	}
	return 0;
}

static const struct
{
	const char *name;
	int			(*fn) (int, char **);
}			commands[] = {
	{"solve", cmd_solve},
	{"generate", cmd_generate},
};

int
dispatch_ctl_main(int argc, char **argv)
{
	if (argc < 2)
		return usage();
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(argv[1], commands[i].name) == 0)
			return commands[i].fn(argc, argv);
	return usage();
}
