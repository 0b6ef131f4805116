/*
 * settlement/series.c
 *	  Dense per-resource interval series, the ordering rules the CSV reader
 *	  enforces, gap estimation and aggregation.
 *
 * NOTES
 *	  Estimation rule (DESIGN.md, "Missing intervals"): a missing interval
 *	  strictly between two actual readings of the same resource gets the
 *	  straight line between them, per interval; an interval outside the
 *	  resource's span (before its first or after its last reading) holds
 *	  the nearest reading.  Both are flagged estimated.  An aggregate is
 *	  estimated when any member is, and is exactly the sum of its members.
 */
#include "series.h"

#include <assert.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define SERIES_MIN_CAP 64

settle_series_set *
settle_series_set_create(void)
{
	return calloc(1, sizeof(settle_series_set));
}

void
settle_series_set_destroy(settle_series_set *set)
{
	if (set == NULL)
		return;
	for (size_t i = 0; i < set->n; i++)
	{
		free(set->v[i]->name);
		free(set->v[i]->kwh);
		free(set->v[i]->est);
		free(set->v[i]);
	}
	free(set->v);
	free(set->hash);
	free(set);
}

static uint32_t
name_hash(const char *s, size_t len)
{
	uint32_t	h = 2166136261u;

	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char) s[i]) * 16777619u;
	return h;
}

static bool
rehash(settle_series_set *set, size_t hcap)
{
	uint32_t   *h = calloc(hcap, sizeof(uint32_t));

	if (h == NULL)
		return false;
	for (size_t i = 0; i < set->n; i++)
	{
		const char *nm = set->v[i]->name;
		size_t		j = name_hash(nm, strlen(nm)) & (hcap - 1);

		while (h[j] != 0)
			j = (j + 1) & (hcap - 1);
		h[j] = (uint32_t) (i + 1);
	}
	free(set->hash);
	set->hash = h;
	set->hcap = hcap;
	return true;
}

static settle_series *
lookup(const settle_series_set *set, const char *name, size_t len,
	   size_t *slot)
{
	size_t		j;

	if (set->hcap == 0)
		return NULL;
	j = name_hash(name, len) & (set->hcap - 1);
	while (set->hash[j] != 0)
	{
		settle_series *s = set->v[set->hash[j] - 1];

		if (strncmp(s->name, name, len) == 0 && s->name[len] == '\0')
			return s;
		j = (j + 1) & (set->hcap - 1);
	}
	if (slot != NULL)
		*slot = j;
	return NULL;
}

settle_series *
settle_series_find(const settle_series_set *set, const char *name)
{
	return lookup(set, name, strlen(name), NULL);
}

derms_rc
settle_series_get(settle_series_set *set, const char *name, size_t len,
				  settle_series **out, derms_err *err)
{
	settle_series *s;
	size_t		slot = 0;

	assert(set != NULL && name != NULL && out != NULL);
	s = lookup(set, name, len, &slot);
	if (s != NULL)
	{
		*out = s;
		return DERMS_OK;
	}
	if ((set->n + 1) * 2 > set->hcap)
	{
		if (!rehash(set, set->hcap == 0 ? 64 : set->hcap * 2))
			return derms_err_set(err, DERMS_ENOMEM, "out of memory");
		lookup(set, name, len, &slot);
	}
	if (set->n == set->cap)
	{
		size_t		ncap = set->cap == 0 ? 16 : set->cap * 2;
		settle_series **nv = realloc(set->v, ncap * sizeof(*nv));

		if (nv == NULL)
			return derms_err_set(err, DERMS_ENOMEM, "out of memory");
		set->v = nv;
		set->cap = ncap;
	}
	s = calloc(1, sizeof(*s));
	if (s == NULL || (s->name = strndup(name, len)) == NULL)
	{
		free(s);
		return derms_err_set(err, DERMS_ENOMEM, "out of memory");
	}
	set->v[set->n++] = s;
	set->hash[slot] = (uint32_t) set->n;
	*out = s;
	return DERMS_OK;
}

derms_rc
settle_series_append(settle_series *s, int64_t start, int32_t len_s,
					 double kwh, derms_err *err)
{
	int64_t		last;
	size_t		idx;

	assert(s != NULL && len_s > 0);
	if (start % len_s != 0)
		return derms_err_set(err, DERMS_EPARSE,
							 "interval start is not aligned to its %d-minute length in UTC",
							 (int) (len_s / 60));
	if (s->n == 0)
	{
		s->t0 = start;
		s->len_s = len_s;
	}
	else
	{
		if (len_s != s->len_s)
			return derms_err_set(err, DERMS_EPARSE,
								 "mixed interval lengths for resource \"%s\": %d and %d minutes",
								 s->name, (int) (s->len_s / 60),
								 (int) (len_s / 60));
		last = s->t0 + (int64_t) (s->n - 1) * s->len_s;
		if (start == last)
			return derms_err_set(err, DERMS_EPARSE,
								 "duplicate interval for resource \"%s\"",
								 s->name);
		if (start < last)
			return derms_err_set(err, DERMS_EPARSE,
								 "out-of-order interval for resource \"%s\" (earlier than the previous one)",
								 s->name);
	}
	if ((start - s->t0) / s->len_s >=
		(int64_t) SETTLE_SPAN_MAX_DAYS * 86400 / s->len_s)
		return derms_err_set(err, DERMS_ERANGE,
							 "data for resource \"%s\" spans more than %d days",
							 s->name, SETTLE_SPAN_MAX_DAYS);
	idx = (size_t) ((start - s->t0) / s->len_s);
	if (idx >= s->cap)
	{
		size_t		ncap = s->cap < SERIES_MIN_CAP ? SERIES_MIN_CAP : s->cap;
		double	   *nk;

		while (ncap <= idx)
			ncap *= 2;
		nk = realloc(s->kwh, ncap * sizeof(double));
		if (nk == NULL)
			return derms_err_set(err, DERMS_ENOMEM, "out of memory");
		s->kwh = nk;
		s->cap = ncap;
	}
	for (size_t i = s->n; i < idx; i++)
		s->kwh[i] = NAN;
	s->kwh[idx] = kwh;
	s->n = idx + 1;
	s->nreadings++;
	return DERMS_OK;
}

static derms_rc
estimate_one(settle_series *s, size_t *count, derms_err *err)
{
	size_t		i = 0;

	while (i < s->n)
	{
		size_t		a,
					b;

		if (!isnan(s->kwh[i]))
		{
			i++;
			continue;
		}
		/* slot 0 and slot n-1 are readings, so a run has both neighbours */
		assert(i > 0);
		a = i - 1;
		b = i;
		while (isnan(s->kwh[b]))
			b++;
		assert(b < s->n);
		if (s->est == NULL && (s->est = calloc(s->cap, 1)) == NULL)
			return derms_err_set(err, DERMS_ENOMEM, "out of memory");
		for (size_t j = a + 1; j < b; j++)
		{
			double		f = (double) (j - a) / (double) (b - a);

			s->kwh[j] = s->kwh[a] + (s->kwh[b] - s->kwh[a]) * f;
			s->est[j] = 1;
			s->nestimated++;
			(*count)++;
		}
		i = b;
	}
	return DERMS_OK;
}

derms_rc
settle_series_set_estimate(settle_series_set *set, size_t *count,
						   derms_err *err)
{
	size_t		total = 0;

	for (size_t i = 0; i < set->n; i++)
	{
		derms_rc	rc = estimate_one(set->v[i], &total, err);

		if (rc != DERMS_OK)
			return rc;
	}
	if (count != NULL)
		*count = total;
	return DERMS_OK;
}

bool
settle_series_covers_any(const settle_series *s, int64_t start, int64_t end)
{
	int64_t		span_end = s->t0 + (int64_t) s->n * s->len_s;

	return s->n > 0 && start < span_end && end > s->t0;
}

bool
settle_series_covers_all(const settle_series *s, int64_t start, int64_t end)
{
	int64_t		span_end = s->t0 + (int64_t) s->n * s->len_s;

	return s->n > 0 && start >= s->t0 && end <= span_end;
}

void
settle_series_sum(const settle_series *s, int64_t start, int32_t len_s,
				  settle_agg *out)
{
	int64_t		k = len_s / s->len_s;
	int64_t		first = (start - s->t0) / s->len_s;

	assert(s->n > 0 && len_s % s->len_s == 0 && start % s->len_s == 0);
	out->kwh = 0.0;
	out->estimated = false;
	out->inside = 0;
	for (int64_t i = first; i < first + k; i++)
	{
		if (i < 0)
		{
			out->kwh += s->kwh[0];
			out->estimated = true;
		}
		else if (i >= (int64_t) s->n)
		{
			out->kwh += s->kwh[s->n - 1];
			out->estimated = true;
		}
		else
		{
			out->kwh += s->kwh[i];
			if (s->est != NULL && s->est[i])
				out->estimated = true;
			out->inside++;
		}
	}
}
