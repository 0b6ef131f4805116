/*
 * protocols/grid/publish.c
 *	  A stored dispatch run (schema/0018_dispatch.sql) sent to the
 *	  resources it schedules:
 *	  - a member whose LFDI is a registered EndDevice gets DERControls in
 *	    its own DERProgram (scope end_device, made once per device, named
 *	    "dispatch"): one control per run of equal setpoints, in the mode
 *	    its DERCapability's modesSupported offers (opModTargetW, else
 *	    opModFixedW, else opModMaxLimW for injection; opModTargetW when the
 *	    device has not said);
 *	  - a member with an OpenADR VEN and resource name gets one event in
 *	    its tenant's grid program ("grid-<tenant>", shared with grid
 *	    events), targeted at the resource, with a DISPATCH_SETPOINT
 *	    payload in kW per interval.
 *	  Publishing supersedes the aggregation's earlier runs: their controls
 *	  that have not ended are cancelled, their events not ended deleted.
 *
 * NOTES
 *	  Runs in the caller's transaction (dispatch_run_db), in vtn workers,
 *	  the dispatch role and dermsctl; memory from the caller's arena.
 *	  Controls are made with protocols/sep2's statements and checks
 *	  (sep2_program_from_json, sep2_control_from_json and their INSERTs),
 *	  events with protocols/openadr's model and store, so subscribers are
 *	  notified as for any event.  Only the columns this module owns
 *	  (dispatch_run_id) and the cancel mark are written here directly.
 */
#include "publish.h"

#include <assert.h>
#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "protocols/openadr/model.h"
#include "protocols/openadr/store.h"
#include "protocols/sep2/derp.h"

/* DERControlType bits of modesSupported (IEEE 2030.5 DERCapability) */
#define MODE_FIXED_W	(1u << 7)
#define MODE_MAX_LIM_W	(1u << 20)
#define MODE_TARGET_W	(1u << 22)

#define PROGRAM_NAME "dispatch"

typedef struct pub
{
	PGconn	   *c;
	arena	   *a;
	const char *run;			/* run id, text */
	const char *actor;
	int			interval_s;
	int			ncontrols;
	int			nevents;
	const char *oadr_program;	/* made on first use */
	const char *tenant;
	const char *tenant_name;
} pub;

static PGresult *
exec(pub *p, const char *sql, int n, const char *const *params, derms_err *err)
{
	PGresult   *r = PQexecParams(p->c, sql, n, NULL, params, NULL, NULL, 0);
	ExecStatusType st = PQresultStatus(r);

	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
	{
		const char *m = PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY);

		derms_err_set(err, DERMS_EDB, "%s", m ? m : PQerrorMessage(p->c));
		PQclear(r);
		return NULL;
	}
	arena_on_destroy(p->a, (arena_cleanup_fn) PQclear, r);
	return r;
}

static const char *
json_text(arena *a, json_t *j)
{
	char	   *t = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
	const char *out = t ? arena_strdup(a, t) : NULL;

	free(t);
	return out;
}

static const char *
rfc3339(arena *a, int64_t t)
{
	time_t		tt = (time_t) t;
	struct tm	tm;
	char		buf[40];

	if (gmtime_r(&tt, &tm) == NULL ||
		strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		return NULL;
	return arena_strdup(a, buf);
}

/* ---- superseding earlier runs ---- */

static derms_rc
supersede(pub *p, const char *agg, derms_err *err)
{
	const char *par[2] = {agg, p->run};
	PGresult   *r;

	if (exec(p, "UPDATE der_controls SET cancelled_at = now()"
			 " WHERE dispatch_run_id IN (SELECT id FROM dispatch_runs"
			 "  WHERE aggregation_id = $1::bigint AND id <> $2::bigint)"
			 " AND cancelled_at IS NULL"
			 " AND start_time + duration_s > extract(epoch FROM now())", 2, par, err) == NULL)
		return err->code;
	r = exec(p, "SELECT e.id FROM oadr_events e JOIN dispatch_runs r ON r.id = e.dispatch_run_id"
			 " WHERE r.aggregation_id = $1::bigint AND r.id <> $2::bigint"
			 " AND (e.ends_at IS NULL OR e.ends_at > now()) ORDER BY e.id", 2, par, err);
	if (r == NULL)
		return err->code;
	for (int i = 0; i < PQntuples(r); i++)
	{
		int64_t		eid = strtoll(PQgetvalue(r, i, 0), NULL, 10);
		oadr_cascade gone;
		PGresult   *d;
		derms_rc	rc;

		if ((rc = oadr_store_cascade(p->c, p->a, OADR_EVENT, eid, &gone, err)) != DERMS_OK ||
			(rc = oadr_store_delete(p->c, p->a, OADR_EVENT, eid, &d, err)) != DERMS_OK)
			return rc;
		for (int k = 0; k < gone.n; k++)
			if ((rc = oadr_store_notify(p->c, p->a, gone.kind[k], "DELETE", gone.rows[k], NULL,
										err)) != DERMS_OK)
				return rc;
		if ((rc = oadr_store_notify(p->c, p->a, OADR_EVENT, "DELETE", d, NULL, err)) != DERMS_OK)
			return rc;
	}
	return DERMS_OK;
}

/* ---- IEEE 2030.5 ---- */

/* The EndDevice's dispatch program, made on first use; its id. */
static derms_rc
device_program(pub *p, const char *edev, const char **pid, derms_err *err)
{
	const char *par[7];
	PGresult   *r;
	json_t	   *j;
	char		mrid[33];
	derms_rc	rc;

	par[0] = edev;
	r = exec(p, "SELECT id FROM der_programs WHERE scope_kind = 'end_device'"
			 " AND scope_id = $1::bigint AND description = '" PROGRAM_NAME "'"
			 " AND created_by = 'dispatch' ORDER BY id LIMIT 1", 1, par, err);
	if (r == NULL)
		return err->code;
	if (PQntuples(r) == 1)
	{
		*pid = PQgetvalue(r, 0, 0);
		return DERMS_OK;
	}
	j = json_pack("{s:s,s:i,s:{s:s,s:I}}", "description", PROGRAM_NAME, "primacy", 1,
				  "scope", "kind", "end_device", "id", (json_int_t) strtoll(edev, NULL, 10));
	rc = sep2_program_from_json(p->a, j, &par[1], err);
	json_decref(j);
	if (rc != DERMS_OK)
		return rc;
	if (!sep2_new_mrid(mrid))
		return derms_err_set(err, DERMS_EIO, "could not make an mRID");
	par[0] = mrid;
	par[6] = "dispatch";
	if ((r = exec(p, sep2_program_insert_sql, 7, par, err)) == NULL)
		return err->code;
	*pid = PQgetvalue(r, 0, 0);
	return DERMS_OK;
}

/* The DERControlBase for w watts (new reference). */
static json_t *
control_base(double w, unsigned modes, double p_dis, double p_ch)
{
	int			m = 0;
	double		v = w;

	if (modes != 0 && !(modes & MODE_TARGET_W) && (modes & MODE_FIXED_W))
	{
		double		ref = w >= 0 ? p_dis : p_ch;
		double		pct = ref > 0 ? 10000.0 * w / ref : 0;

		return json_pack("{s:I}", "opModFixedW",
						 (json_int_t) lround(fmax(-10000, fmin(10000, pct))));
	}
	if (modes != 0 && !(modes & MODE_TARGET_W) && (modes & MODE_MAX_LIM_W))
	{
		double		pct = p_dis > 0 ? 10000.0 * fmax(w, 0) / p_dis : 0;

		return json_pack("{s:I}", "opModMaxLimW", (json_int_t) lround(fmin(10000, pct)));
	}
	while (fabs(round(v)) > 32767 && m < 9)
	{
		v /= 10;
		m++;
	}
	return json_pack("{s:{s:i,s:I}}", "opModTargetW", "multiplier", m,
					 "value", (json_int_t) round(v));
}

static derms_rc
add_control(pub *p, const char *pid, int64_t start, int64_t dur, json_t *base,
			derms_err *err)
{
	const char *par[9];
	char		mrid[33];
	json_t	   *j;
	PGresult   *r;
	derms_rc	rc;

	j = json_pack("{s:I,s:I,s:s,s:O}", "start", (json_int_t) start, "duration",
				  (json_int_t) dur, "description",
				  arena_printf(p->a, "dispatch run %.18s", p->run), "base", base);
	rc = sep2_control_from_json(p->a, j, &par[2], err);
	json_decref(j);
	if (rc != DERMS_OK)
		return rc;
	if (!sep2_new_mrid(mrid))
		return derms_err_set(err, DERMS_EIO, "could not make an mRID");
	par[0] = pid;
	par[1] = mrid;
	par[8] = "dispatch";
	if ((r = exec(p, sep2_control_insert_sql, 9, par, err)) == NULL)
		return err->code;
	par[0] = PQgetvalue(r, 0, 0);
	par[1] = p->run;
	if (exec(p, "UPDATE der_controls SET dispatch_run_id = $2::bigint WHERE id = $1::bigint",
			 2, par, err) == NULL)
		return err->code;
	p->ncontrols++;
	return DERMS_OK;
}

/* Rows [lo, hi) of r are one resource's intervals, in time order. */
static derms_rc
device_controls(pub *p, PGresult *r, int lo, int hi, derms_err *err)
{
	const char *pid = NULL;
	const char *ms = PQgetvalue(r, lo, 6);
	unsigned	modes = ms[0] ? (unsigned) strtoul(ms, NULL, 16) : 0;
	double		rated = PQgetisnull(r, lo, 3) ? 0 : strtod(PQgetvalue(r, lo, 3), NULL);
	double		p_ch = PQgetisnull(r, lo, 4) ? rated : strtod(PQgetvalue(r, lo, 4), NULL);
	double		p_dis = PQgetisnull(r, lo, 5) ? rated : strtod(PQgetvalue(r, lo, 5), NULL);
	derms_rc	rc;
	int			i = lo;

	if ((rc = device_program(p, PQgetvalue(r, lo, 1), &pid, err)) != DERMS_OK)
		return rc;
	while (i < hi)
	{
		int64_t		start = strtoll(PQgetvalue(r, i, 2), NULL, 10);
		long		w = lround(strtod(PQgetvalue(r, i, 7), NULL) * 1000.0);
		int			j = i + 1;
		json_t	   *base;

		/* a run of equal setpoints is one control */
		while (j < hi && lround(strtod(PQgetvalue(r, j, 7), NULL) * 1000.0) == w &&
			   strtoll(PQgetvalue(r, j, 2), NULL, 10) ==
			   start + (int64_t) (j - i) * p->interval_s)
			j++;
		base = control_base((double) w, modes, p_dis, p_ch);
		if (base == NULL)
			return derms_err_set(err, DERMS_ENOMEM, "out of memory");
		rc = add_control(p, pid, start, (int64_t) (j - i) * p->interval_s, base, err);
		json_decref(base);
		if (rc != DERMS_OK)
			return rc;
		i = j;
	}
	return DERMS_OK;
}

/* ---- OpenADR ---- */

static derms_rc
oadr_program(pub *p, derms_err *err)
{
	const char *par[1];
	PGresult   *r;
	oadr_row	row;
	oadr_doc	doc;
	json_t	   *body;
	derms_rc	rc;

	if (p->oadr_program != NULL)
		return DERMS_OK;
	par[0] = arena_printf(p->a, "grid-%s", p->tenant_name);
	if ((r = exec(p, "SELECT id::text FROM oadr_programs WHERE program_name = $1", 1, par,
				  err)) == NULL)
		return err->code;
	if (PQntuples(r) == 1)
	{
		p->oadr_program = PQgetvalue(r, 0, 0);
		return DERMS_OK;
	}
	body = json_pack("{s:s}", "programName", par[0]);
	rc = oadr_model_check(OADR_PROGRAM, body, &doc, err);
	json_decref(body);
	if (rc != DERMS_OK)
		return rc;
	memset(&row, 0, sizeof(row));
	row.tenant_id = strtoll(p->tenant, NULL, 10);
	row.body = json_text(p->a, doc.body);
	json_decref(doc.body);
	if (row.body == NULL)
		return derms_err_set(err, DERMS_ENOMEM, "out of memory");
	if ((rc = oadr_store_insert(p->c, p->a, OADR_PROGRAM, &row, &r, err)) != DERMS_OK ||
		(rc = oadr_store_notify(p->c, p->a, OADR_PROGRAM, "CREATE", r, NULL, err)) != DERMS_OK)
		return rc;
	p->oadr_program = PQgetvalue(r, 0, OADR_COL_ID);
	return DERMS_OK;
}

static derms_rc
ven_event(pub *p, PGresult *r, int lo, int hi, derms_err *err)
{
	json_t	   *ev, *ivs;
	oadr_doc	doc;
	oadr_row	row;
	PGresult   *x;
	const char *par[2];
	bool		bounded;
	int64_t		end;
	derms_rc	rc;

	if ((rc = oadr_program(p, err)) != DERMS_OK)
		return rc;
	ivs = json_array();
	for (int i = lo; i < hi; i++)
	{
		const char *start = rfc3339(p->a, strtoll(PQgetvalue(r, i, 2), NULL, 10));

		json_array_append_new(ivs, json_pack("{s:i,s:{s:s,s:s},s:[{s:s,s:[f]}]}",
											 "id", i - lo, "intervalPeriod",
											 "start", start ? start : "",
											 "duration", arena_printf(p->a, "PT%dS", p->interval_s),
											 "payloads", "type", "DISPATCH_SETPOINT", "values",
											 round(strtod(PQgetvalue(r, i, 7), NULL) * 1000)
											 / 1000));
	}
	ev = json_pack("{s:s,s:s,s:[s],s:[{s:s,s:s,s:s}],s:o}",
				   "programID", p->oadr_program,
				   "eventName", arena_printf(p->a, "dispatch run %s %s", p->run,
											 PQgetvalue(r, lo, 9)),
				   "targets", PQgetvalue(r, lo, 9),
				   "payloadDescriptors", "objectType", "EVENT_PAYLOAD_DESCRIPTOR",
				   "payloadType", "DISPATCH_SETPOINT", "units", "KW",
				   "intervals", ivs);
	if (ev == NULL)
		return derms_err_set(err, DERMS_ENOMEM, "out of memory");
	rc = oadr_model_check(OADR_EVENT, ev, &doc, err);
	json_decref(ev);
	if (rc != DERMS_OK)
		return rc;
	memset(&row, 0, sizeof(row));
	oadr_model_event_end(doc.body, &bounded, &end);
	row.ends_at = bounded ? rfc3339(p->a, end) : NULL;
	row.parent_id = strtoll(p->oadr_program, NULL, 10);
	row.body = json_text(p->a, doc.body);
	json_decref(doc.body);
	if (row.body == NULL)
		return derms_err_set(err, DERMS_ENOMEM, "out of memory");
	if ((rc = oadr_store_insert(p->c, p->a, OADR_EVENT, &row, &x, err)) != DERMS_OK)
		return rc;
	par[0] = PQgetvalue(x, 0, OADR_COL_ID);
	par[1] = p->run;
	if (exec(p, "UPDATE oadr_events SET dispatch_run_id = $2::bigint WHERE id = $1::bigint",
			 2, par, err) == NULL)
		return err->code;
	if ((rc = oadr_store_notify(p->c, p->a, OADR_EVENT, "CREATE", x, NULL, err)) != DERMS_OK)
		return rc;
	p->nevents++;
	return DERMS_OK;
}

/* ---- the run ---- */

derms_rc
grid_publish_run(PGconn *c, arena *a, int64_t run_id, const char *actor, derms_err *err)
{
	pub			p;
	const char *par[4];
	PGresult   *r;
	derms_rc	rc;
	int			lo = 0;

	assert(c != NULL && a != NULL && actor != NULL);
	memset(&p, 0, sizeof(p));
	p.c = c;
	p.a = a;
	p.actor = actor;
	p.run = arena_printf(a, "%" PRId64, run_id);
	par[0] = p.run;
	r = exec(&p, "SELECT r.aggregation_id, r.interval_s, a.tenant_id, t.name"
			 " FROM dispatch_runs r JOIN aggregations a ON a.id = r.aggregation_id"
			 " JOIN tenants t ON t.id = a.tenant_id WHERE r.id = $1::bigint FOR UPDATE OF r",
			 1, par, err);
	if (r == NULL)
		return err->code;
	if (PQntuples(r) == 0)
		return derms_err_set(err, DERMS_ENOTFOUND, "no dispatch run %s", p.run);
	p.interval_s = atoi(PQgetvalue(r, 0, 1));
	p.tenant = PQgetvalue(r, 0, 2);
	p.tenant_name = PQgetvalue(r, 0, 3);
	if ((rc = supersede(&p, PQgetvalue(r, 0, 0), err)) != DERMS_OK)
		return rc;

	/* the intervals not ended, per resource, with how to reach it */
	r = exec(&p, "SELECT s.der_id, e.id, extract(epoch FROM s.interval_start)::bigint,"
			 " d.rated_w, d.max_charge_w, d.max_discharge_w,"
			 " coalesce(cap.doc ->> 'modesSupported', ''), s.power_kw, d.ven_name,"
			 " d.resource_name"
			 " FROM dispatch_schedules s JOIN dispatch_runs r ON r.id = s.run_id"
			 " JOIN der_resources d ON d.id = s.der_id"
			 " LEFT JOIN end_devices e ON e.lfdi = d.lfdi AND e.enabled"
			 " LEFT JOIN LATERAL (SELECT x.doc FROM der_reports x WHERE x.der_id = d.id"
			 "   AND x.resource = 'capability' ORDER BY x.id DESC LIMIT 1) cap ON true"
			 " WHERE s.run_id = $1::bigint"
			 " AND s.interval_start + r.interval_s * interval '1 second' > now()"
			 " ORDER BY s.der_id, s.interval_start", 1, par, err);
	if (r == NULL)
		return err->code;
	while (lo < PQntuples(r))
	{
		int			hi = lo + 1;

		while (hi < PQntuples(r) && strcmp(PQgetvalue(r, hi, 0), PQgetvalue(r, lo, 0)) == 0)
			hi++;
		if (!PQgetisnull(r, lo, 1) && (rc = device_controls(&p, r, lo, hi, err)) != DERMS_OK)
			return rc;
		if (!PQgetisnull(r, lo, 8) && !PQgetisnull(r, lo, 9) &&
			(rc = ven_event(&p, r, lo, hi, err)) != DERMS_OK)
			return rc;
		lo = hi;
	}
	par[1] = arena_printf(a, "%d", p.ncontrols);
	par[2] = arena_printf(a, "%d", p.nevents);
	if (exec(&p, "UPDATE dispatch_runs SET status = 'published', published_at = now(),"
			 " der_controls = $2::int, oadr_events = $3::int WHERE id = $1::bigint",
			 3, par, err) == NULL)
		return err->code;
	par[0] = actor;
	par[1] = "dispatch.publish";
	par[2] = arena_printf(a, "dispatch_run:%s", p.run);
	par[3] = arena_printf(a, "{\"der_controls\":%d,\"oadr_events\":%d}", p.ncontrols,
						  p.nevents);
	if (exec(&p, "SELECT audit_append($1, $2, $3, $4::jsonb)", 4, par, err) == NULL)
		return err->code;
	return DERMS_OK;
}
