/*
 * dispatch/ctl.c
 *	  "dermsctl dispatch ...": offline solves and the instance generator.
 *
 *	  dermsctl dispatch solve --input FILE --output FILE [--exact] [--csv FILE]
 *	  dermsctl dispatch generate --tier XS|S|M|L --seed N [--output FILE]
 *	  dermsctl dispatch run --aggregation ID [--horizon H] [--no-publish]
 *	  dermsctl dispatch show RUN [--csv|--json|--plot FILE]
 *
 * NOTES
 *	  Exit codes: 0 done; 1 a solver or I/O failure; 2 bad usage or bad
 *	  input (the message names the field).  Infeasible targets are not an
 *	  error: the schedule reports the shortfall.  One arena owns the
 *	  instance; schedules are freed here.  "run" and "show" work on the
 *	  database (dispatch_ctl_db_main, given the connection and the
 *	  publishing function by server/dermsctl.c); exit code 3 there means
 *	  no such aggregation or run.
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
#include "dispatch/store.h"
#include "server/arena.h"

static int
usage(void)
{
	fprintf(stderr,
			"usage: dermsctl dispatch solve --input FILE --output FILE [--exact] [--csv FILE]\n"
			"       dermsctl dispatch generate --tier XS|S|M|L --seed N [--output FILE]\n"
			"       dermsctl dispatch run --aggregation ID [--horizon H] [--no-publish]\n"
			"       dermsctl dispatch show RUN [--csv|--json|--plot FILE]\n");
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

/* ---- on the database: run, show ---- */

static int
cmd_run(PGconn *c, const dispatch_run_request *defaults, int argc, char **argv)
{
	static const char *const valued[] = {"--aggregation", "--horizon", NULL};
	static const char *const flags[] = {"--no-publish", NULL};
	const char *agg = opt(argc, argv, "--aggregation"),
			   *hor = opt(argc, argv, "--horizon");
	dispatch_run_request rq = *defaults;
	const char *summary;
	char	   *end;
	arena	   *a;
	derms_err	err;
	int64_t		run;
	derms_rc	rc;

	if (!args_ok(argc, argv, valued, flags) || agg == NULL)
		return usage();
	rq.aggregation_id = strtoll(agg, &end, 10);
	if (*agg == '\0' || *end != '\0' || rq.aggregation_id <= 0)
	{
		fprintf(stderr, "dermsctl: dispatch: --aggregation: \"%s\" is not an id\n", agg);
		return 2;
	}
	if (hor != NULL)
	{
		long		h = strtol(hor, &end, 10);

		if (*hor == '\0' || *end != '\0' || h < 1 || h > 48)
		{
			fprintf(stderr, "dermsctl: dispatch: --horizon: must be 1 to 48 hours\n");
			return 2;
		}
		rq.horizon_h = (int) h;
	}
	if (flag(argc, argv, "--no-publish"))
		rq.publish = NULL;
	rq.reason = "dermsctl dispatch run";
	if ((a = arena_create(0)) == NULL)
		return 1;
	rc = dispatch_run_db(c, a, &rq, &run, &err);
	if (rc == DERMS_OK)
		rc = dispatch_store_summary(c, a, run, &summary, &err);
	if (rc != DERMS_OK)
	{
		fprintf(stderr, "dermsctl: dispatch: %s\n", err.msg);
		arena_destroy(a);
		return rc == DERMS_ENOTFOUND ? 3 : rc == DERMS_EINVAL || rc == DERMS_ERANGE ? 2 : 1;
	}
	printf("%s\n", summary);
	arena_destroy(a);
	return 0;
}

static int
cmd_show(PGconn *c, int argc, char **argv)
{
	const char *plot = NULL;
	const char *text = NULL;
	char	   *end;
	int64_t		run;
	arena	   *a;
	derms_err	err;
	derms_rc	rc;
	int			mode = 0;		/* 0 summary, 1 csv, 2 json, 3 plot */

	if (argc < 3)
		return usage();
	run = strtoll(argv[2], &end, 10);
	if (argv[2][0] == '\0' || *end != '\0' || run <= 0)
	{
		fprintf(stderr, "dermsctl: dispatch: \"%s\" is not a run id\n", argv[2]);
		return 2;
	}
	for (int i = 3; i < argc; i++)
	{
		if (strcmp(argv[i], "--csv") == 0 && mode == 0)
			mode = 1;
		else if (strcmp(argv[i], "--json") == 0 && mode == 0)
			mode = 2;
		else if (strcmp(argv[i], "--plot") == 0 && mode == 0 && i + 1 < argc)
		{
			mode = 3;
			plot = argv[++i];
		}
		else
			return usage();
	}
	if ((a = arena_create(0)) == NULL)
		return 1;
	if (mode == 0)
		rc = dispatch_store_summary(c, a, run, &text, &err);
	else if (mode == 3)
		rc = dispatch_store_plot(c, a, run, 10, &text, &err);
	else
		rc = dispatch_store_schedules(c, a, run, mode == 1, &text, &err);
	if (rc == DERMS_OK && mode == 3)
	{
		FILE	   *f = strcmp(plot, "-") == 0 ? stdout : fopen(plot, "w");

		if (f == NULL || fputs(text, f) == EOF || (f != stdout && fclose(f) != 0))
			rc = derms_err_set(&err, DERMS_EIO, "could not write \"%s\"", plot);
	}
	else if (rc == DERMS_OK)
		fputs(text, stdout);
	if (rc == DERMS_OK && mode == 0)
		fputc('\n', stdout);
	if (rc != DERMS_OK)
		fprintf(stderr, "dermsctl: dispatch: %s\n", err.msg);
	arena_destroy(a);
	return rc == DERMS_OK ? 0 : rc == DERMS_ENOTFOUND ? 3 : 1;
}

int
dispatch_ctl_db_main(PGconn *c, const dispatch_run_request *defaults, int argc,
					 char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "run") == 0)
		return cmd_run(c, defaults, argc, argv);
	if (argc >= 2 && strcmp(argv[1], "show") == 0)
		return cmd_show(c, argc, argv);
	return usage();
}
