/*
 * dispatch/generate.c
 *	  Writes seeded random instances: residential batteries (5-20 kWh),
 *	  EVs with one plug-in session, rooftop PV, spread round-robin over
 *	  feeder groups; a zero-energy sinusoidal MW instruction within the
 *	  fleet's reach, a daily price shape, and feeder limits that bind on
 *	  about one group in five.
 *
 * NOTES
 *	  The same (tier, seed) gives the same bytes on every machine: the
 *	  generator is splitmix64 and numbers are printed with %.6g.
 *	  Written with fprintf, not jansson: tier L has millions of numbers.
 */
#include "generate.h"

#include <math.h>
#include <string.h>

static uint64_t
next(uint64_t *s)
{
	uint64_t	z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static double
unif(uint64_t *s, double a, double b)
{
	return a + (b - a) * ((next(s) >> 11) * (1.0 / 9007199254740992.0));
}

static const struct
{
	const char *name;
	dispatch_gen g;
}			tiers[] = {
	{"XS", {40, 0, 0, 4, 24, 60}},	/* unit tests: CLP solves it in ms */
	{"S", {1000, 0, 0, 10, 96, 15}},
	{"M", {10000, 0, 0, 100, 288, 5}},
	{"L", {100000, 20000, 10000, 1000, 288, 5}},
};

derms_rc
dispatch_gen_tier(const char *tier, dispatch_gen *g, derms_err *err)
{
	for (size_t i = 0; i < sizeof(tiers) / sizeof(tiers[0]); i++)
		if (strcmp(tiers[i].name, tier) == 0)
		{
			*g = tiers[i].g;
			return DERMS_OK;
		}
	return derms_err_set(err, DERMS_EINVAL, "tier \"%s\" is not XS, S, M or L", tier);
}

derms_rc
dispatch_gen_write(const dispatch_gen *g, uint64_t seed, FILE *f, derms_err *err)
{
	uint64_t	s = seed * 0x2545f4914f6cdd1dULL + 1;
	int			T = g->T,
				n = 0;
	double		dt = g->minutes / 60.0,
				pmax = 0.0;

	/* fleet power first, for the target's amplitude */
	{
		uint64_t	s2 = s;

		for (int i = 0; i < g->batteries; i++)
		{
			double		cap = unif(&s2, 0.005, 0.020);

			pmax += cap * unif(&s2, 0.25, 0.5);
			for (int k = 0; k < 6; k++)
				(void) next(&s2);
		}
	}
	fprintf(f, "{\"format\": \"dermsd-dispatch-instance/1\",\n"
			" \"name\": \"generated B%d E%d P%d G%d T%d seed %llu\",\n"
			" \"interval_minutes\": %g, \"intervals\": %d,\n",
			g->batteries, g->evs, g->pvs, g->groups, T,
			(unsigned long long) seed, g->minutes, T);
	fprintf(f, " \"penalties\": {\"shortfall_per_mwh\": 1000, \"surplus_per_mwh\": 1000},\n");
	fprintf(f, " \"targets\": {\"mw\": [");
	for (int t = 0; t < T; t++)
		fprintf(f, "%s%.6g", t ? "," : "",
				0.3 * pmax * sin(2 * M_PI * (t + 0.5) / T));
	fprintf(f, "],\n  \"price_per_mwh\": [");
	for (int t = 0; t < T; t++)
		fprintf(f, "%s%.6g", t ? "," : "",
				40.0 + 20.0 * sin(2 * M_PI * (t + 0.5) / T + 1.0));
	fprintf(f, "]},\n \"groups\": [");
	for (int k = 0; k < g->groups; k++)
	{
		double		share = pmax / g->groups;
		double		lim = (next(&s) % 5 == 0) ? 0.22 : 0.6;

		fprintf(f, "%s\n  {\"id\": \"f%d\", \"import_limit_mw\": %.6g, \"export_limit_mw\": %.6g}",
				k ? "," : "", k, lim * share + 0.01 * (g->evs > 0),
				lim * share + 0.01 * (g->pvs > 0));
	}
	fprintf(f, "],\n \"resources\": [");
	for (int i = 0; i < g->batteries; i++, n++)
	{
		double		cap = unif(&s, 0.005, 0.020);
		double		pw = cap * unif(&s, 0.25, 0.5);
		double		soc = unif(&s, 0.3, 0.8);

		fprintf(f, "%s\n  {\"id\": \"b%d\", \"type\": \"battery\", \"group\": \"f%d\", "
				"\"capacity_mwh\": %.6g, \"charge_mw\": %.6g, \"discharge_mw\": %.6g, "
				"\"eta_charge\": %.4f, \"eta_discharge\": %.4f, \"soc_min\": 0.1, "
				"\"soc_max\": 0.95, \"soc\": %.4f, \"soc_final_min\": %.4f, "
				"\"self_discharge_per_hour\": %.6f, \"degradation\": {\"model\": "
				"\"throughput\", \"replacement_cost\": %.6g, \"cycle_life\": %.0f}}",
				n ? "," : "", i, i % g->groups, cap, pw, pw,
				unif(&s, 0.92, 0.97), unif(&s, 0.92, 0.97), soc,
				fmax(0.1, soc - 0.2), unif(&s, 0.00005, 0.0003),
				cap * unif(&s, 2.0e5, 3.5e5), unif(&s, 3000, 6000));
	}
	for (int i = 0; i < g->evs; i++, n++)
	{
		double		cap = unif(&s, 0.04, 0.08);
		int			a = (int) unif(&s, 0, T / 2.0);
		int			d = a + 1 + (int) unif(&s, T / 6.0, T / 2.0);
		double		sa = unif(&s, 0.2, 0.5);

		if (d > T)
			d = T;
		fprintf(f, "%s\n  {\"id\": \"e%d\", \"type\": \"ev\", \"group\": \"f%d\", "
				"\"capacity_mwh\": %.6g, \"charge_mw\": 0.0072, \"eta_charge\": 0.92, "
				"\"soc_min\": 0.1, \"soc_max\": 1, \"sessions\": [{\"arrive\": %d, "
				"\"depart\": %d, \"soc_arrive\": %.4f, \"soc_depart_min\": %.4f}]}",
				n ? "," : "", i, i % g->groups, cap, a, d, sa,
				fmin(0.9, sa + 0.0072 * 0.92 * (d - a) * dt / cap * 0.5));
	}
	for (int i = 0; i < g->pvs; i++, n++)
	{
		double		kw = unif(&s, 0.003, 0.008);

		fprintf(f, "%s\n  {\"id\": \"p%d\", \"type\": \"pv\", \"group\": \"f%d\", "
				"\"available_mw\": [", n ? "," : "", i, i % g->groups);
		for (int t = 0; t < T; t++)
		{
			double		h = 24.0 * t / T;
			double		v = (h > 6 && h < 18) ? kw * sin(M_PI * (h - 6) / 12) : 0.0;

			fprintf(f, "%s%.4g", t ? "," : "", v);
		}
		fprintf(f, "]}");
	}
	fprintf(f, "\n]}\n");
	if (ferror(f))
		return derms_err_set(err, DERMS_EIO, "could not write the instance");
	return DERMS_OK;
}
