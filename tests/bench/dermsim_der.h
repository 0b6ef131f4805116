/*
 * tests/bench/dermsim_der.h
 *	  What a dermsim device does with DER programs once registered
 *	  (--der): what it discovered (FunctionSetAssignments, DER programs,
 *	  its DER's status and availability, its MirrorUsagePoint), the
 *	  controls it has seen, the Responses it owes, and the documents it
 *	  sends (DERControlResponse, DERStatus, DERAvailability,
 *	  MirrorMeterReadingList).
 *
 * NOTES
 *	  Included by tests/bench/dermsim.c only, so everything here is static.
 *	  Documents are read with the server's hardened parser
 *	  (protocols/sep2/xml.h) into a scratch arena and written with its
 *	  writer, so what dermsim sends is what the server's own tests accept.
 *	  The response flow follows IEEE 2030.5 for DER events: a control
 *	  first seen in a program's active list is answered "received" (1)
 *	  then "started" (2); once its interval has ended, "completed" (3).
 *	  A control that leaves the active list early (cancelled, superseded)
 *	  is forgotten without a completion; one that leaves it within
 *	  SIM_CLOCK_SLACK of its end has ended (the server's clock rounds).  Times in documents are UTC
 *	  seconds (wall clock); the battery keeps monotonic time.
 */
#ifndef DERMS_BENCH_DERMSIM_DER_H
#define DERMS_BENCH_DERMSIM_DER_H

#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libxml/tree.h>

#include "protocols/sep2/xml.h"
#include "server/arena.h"

#include "dermsim_fleet.h"

#define SIM_DER_PATH 128
#define SIM_MAX_PROGRAMS 4		/* programs polled per device */
#define SIM_MAX_CONTROLS 8		/* active controls tracked per device */
#define SIM_MAX_PENDING 16		/* Responses waiting to be posted */

#define SIM_CLOCK_SLACK 2		/* seconds: our clock against the server's */

#define SIM_RSP_RECEIVED 1
#define SIM_RSP_STARTED 2
#define SIM_RSP_COMPLETED 3

typedef struct sim_control
{
	char		mrid[33];
	char		reply_to[SIM_DER_PATH];
	int64_t		end;			/* UTC s: interval start + duration */
	unsigned	sent;			/* bit 1 << status for each Response sent */
	bool		seen;			/* in the latest poll of its program */
} sim_control;

typedef struct sim_pending
{
	char		mrid[33];
	char		reply_to[SIM_DER_PATH];
	int			status;
} sim_pending;

/* One device's DER side; all paths "" until discovered. */
typedef struct sim_der
{
	char		mup_list[SIM_DER_PATH]; /* from /dcap */
	char		fsa_list[SIM_DER_PATH];
	char		der_list[SIM_DER_PATH];
	char		derp_list[SIM_DER_PATH];
	char		ders[SIM_DER_PATH];
	char		dera[SIM_DER_PATH];
	char		mup[SIM_DER_PATH];
	double		der_rate;		/* seconds between program polls */
	double		post_rate;		/* seconds between status and telemetry posts */
	char		actderc[SIM_MAX_PROGRAMS][SIM_DER_PATH];
	int			nprograms;
	int			prog_at;		/* the program polled next in this cycle */
	sim_control controls[SIM_MAX_CONTROLS];
	int			ncontrols;
	sim_pending pending[SIM_MAX_PENDING];
	int			npending;
	double		target_w;		/* an active control's opModTargetW */
	int64_t		target_until;	/* UTC s; 0: no control applies */
} sim_der;

/* What a worker's devices did on the DER side (summed for the report). */
typedef struct sim_der_counts
{
	uint64_t	with_der;		/* devices that found a DER to report on */
	uint64_t	derp;			/* DERProgramList GETs */
	uint64_t	derc;			/* ActiveDERControlList GETs */
	uint64_t	controls;		/* distinct controls seen, over all devices */
	uint64_t	rsp[4];			/* Responses posted, by status 1..3 */
	uint64_t	ders;			/* DERStatus PUTs */
	uint64_t	dera;			/* DERAvailability PUTs */
	uint64_t	mmr;			/* MirrorMeterReadingList posts */
	uint64_t	readings;		/* readings in them */
} sim_der_counts;

static void
sim_der_counts_add(sim_der_counts *to, const sim_der_counts *from)
{
	to->with_der += from->with_der;
	to->derp += from->derp;
	to->derc += from->derc;
	to->controls += from->controls;
	for (int i = 0; i < 4; i++)
		to->rsp[i] += from->rsp[i];
	to->ders += from->ders;
	to->dera += from->dera;
	to->mmr += from->mmr;
	to->readings += from->readings;
}

static int64_t
sim_wall(void)
{
	return (int64_t) time(NULL);
}

/* ---- reading documents ---- */

/* The root element <root> of body, parsed into a (NULL when it is not). */
static xmlNodePtr
sim_xml_root(arena *a, const char *body, size_t len, const char *root)
{
	xmlDocPtr	doc;
	xmlNodePtr	r;

	if (body == NULL || len == 0 ||
		sep2_xml_parse(a, body, len, &doc, NULL) != DERMS_OK ||
		sep2_xml_root(doc, root, &r, NULL) != DERMS_OK)
		return NULL;
	return r;
}

/* Copy attribute name of el into out; false when absent or too long. */
static bool
sim_xml_attr(xmlNodePtr el, const char *name, char *out, size_t size)
{
	xmlChar    *v;
	bool		ok = false;

	if (el == NULL)
		return false;
	v = xmlGetProp(el, (const xmlChar *) name);
	if (v && strlen((const char *) v) < size)
	{
		snprintf(out, size, "%s", (const char *) v);
		ok = true;
	}
	xmlFree(v);
	return ok;
}

/* The href of the child <name> of el, when it is a path. */
static bool
sim_xml_link(xmlNodePtr el, const char *name, char *out, size_t size)
{
	return sim_xml_attr(el ? sep2_xml_child(el, name) : NULL, "href", out, size) &&
		out[0] == '/';
}

/* The text of the child <name> of el as an integer; dflt when absent. */
static int64_t
sim_xml_int(xmlNodePtr el, const char *name, int64_t dflt)
{
	xmlNodePtr	c = el ? sep2_xml_child(el, name) : NULL;
	xmlChar    *v;
	int64_t		out = dflt;

	if (c == NULL)
		return dflt;
	v = xmlNodeGetContent(c);
	if (v)
		out = strtoll((const char *) v, NULL, 10);
	xmlFree(v);
	return out;
}

/* EndDevice: where the FSAs and DERs are, and the postRate. */
static bool
sim_der_on_edev(sim_der *g, arena *a, const char *body, size_t len)
{
	xmlNodePtr	r = sim_xml_root(a, body, len, "EndDevice");

	if (r == NULL || !sim_xml_link(r, "FunctionSetAssignmentsListLink", g->fsa_list,
								   sizeof(g->fsa_list)))
		return false;
	if (!sim_xml_link(r, "DERListLink", g->der_list, sizeof(g->der_list)))
		g->der_list[0] = '\0';
	if (g->post_rate <= 0)
		g->post_rate = (double) sim_xml_int(r, "postRate", 900);
	return true;
}

/*
 * FunctionSetAssignmentsList: the first FSA's DERProgramListLink, and the
 * function set's pollRate (unless fixed_rate).
 */
static bool
sim_der_on_fsa(sim_der *g, arena *a, const char *body, size_t len, bool fixed_rate)
{
	xmlNodePtr	r = sim_xml_root(a, body, len, "FunctionSetAssignmentsList");
	char		rate[16];

	if (r == NULL ||
		!sim_xml_link(sep2_xml_child(r, "FunctionSetAssignments"), "DERProgramListLink",
					  g->derp_list, sizeof(g->derp_list)))
		return false;
	if (!fixed_rate && sim_xml_attr(r, "pollRate", rate, sizeof(rate)) && atoi(rate) > 0)
		g->der_rate = atoi(rate);
	return true;
}

/* DERList: the first DER's status and availability, if there is a DER. */
static bool
sim_der_on_der_list(sim_der *g, arena *a, const char *body, size_t len)
{
	xmlNodePtr	r = sim_xml_root(a, body, len, "DERList");
	xmlNodePtr	der = r ? sep2_xml_child(r, "DER") : NULL;

	if (r == NULL)
		return false;
	if (der == NULL ||
		!sim_xml_link(der, "DERStatusLink", g->ders, sizeof(g->ders)) ||
		!sim_xml_link(der, "DERAvailabilityLink", g->dera, sizeof(g->dera)))
		g->ders[0] = g->dera[0] = '\0';
	return true;
}

/* DERProgramList: the programs' active control lists, and the pollRate. */
static bool
sim_der_on_derp(sim_der *g, arena *a, const char *body, size_t len, bool fixed_rate)
{
	xmlNodePtr	r = sim_xml_root(a, body, len, "DERProgramList");
	char		rate[16];

	if (r == NULL)
		return false;
	g->nprograms = 0;
	for (xmlNodePtr p = sep2_xml_child(r, "DERProgram"); p && g->nprograms < SIM_MAX_PROGRAMS;
		 p = sep2_xml_next(p))
		if (sim_xml_link(p, "ActiveDERControlListLink", g->actderc[g->nprograms],
						 SIM_DER_PATH))
			g->nprograms++;
	if (!fixed_rate && sim_xml_attr(r, "pollRate", rate, sizeof(rate)) && atoi(rate) > 0)
		g->der_rate = atoi(rate);
	return true;
}

static void
sim_der_queue(sim_der *g, const sim_control *c, int status)
{
	sim_pending *p;

	if (g->npending >= SIM_MAX_PENDING)
		return;
	p = &g->pending[g->npending++];
	memcpy(p->mrid, c->mrid, sizeof(p->mrid));
	memcpy(p->reply_to, c->reply_to, sizeof(p->reply_to));
	p->status = status;
}

/*
 * A program's ActiveDERControlList: answer the controls seen for the
 * first time; returns how many those were (-1: not a list).
 */
static int
sim_der_on_derc(sim_der *g, arena *a, const char *body, size_t len, int64_t now)
{
	xmlNodePtr	r = sim_xml_root(a, body, len, "DERControlList");
	int			fresh = 0;

	if (r == NULL)
		return -1;
	for (xmlNodePtr el = sep2_xml_child(r, "DERControl"); el; el = sep2_xml_next(el))
	{
		xmlNodePtr	iv = sep2_xml_child(el, "interval");
		xmlNodePtr	base = sep2_xml_child(el, "DERControlBase");
		xmlNodePtr	tw = base ? sep2_xml_child(base, "opModTargetW") : NULL;
		xmlNodePtr	m = sep2_xml_child(el, "mRID");
		xmlChar    *mrid = m ? xmlNodeGetContent(m) : NULL;
		sim_control *c = NULL;

		if (mrid == NULL || strlen((const char *) mrid) != 32)
		{
			xmlFree(mrid);
			continue;
		}
		for (int i = 0; i < g->ncontrols; i++)
			if (strcmp(g->controls[i].mrid, (const char *) mrid) == 0)
				c = &g->controls[i];
		if (c == NULL && g->ncontrols < SIM_MAX_CONTROLS)
		{
			c = &g->controls[g->ncontrols++];
			memset(c, 0, sizeof(*c));
			snprintf(c->mrid, sizeof(c->mrid), "%s", (const char *) mrid);
			if (!sim_xml_attr(el, "replyTo", c->reply_to, sizeof(c->reply_to)))
				c->reply_to[0] = '\0';
			c->end = sim_xml_int(iv, "start", now) + sim_xml_int(iv, "duration", 0);
			fresh++;
		}
		xmlFree(mrid);
		if (c == NULL)
			continue;
		c->seen = true;
		if (c->reply_to[0] == '/')
		{
			/* in the active list: received, and started */
			if (!(c->sent & (1u << SIM_RSP_RECEIVED)))
			{
				sim_der_queue(g, c, SIM_RSP_RECEIVED);
				c->sent |= 1u << SIM_RSP_RECEIVED;
			}
			if (!(c->sent & (1u << SIM_RSP_STARTED)))
			{
				sim_der_queue(g, c, SIM_RSP_STARTED);
				c->sent |= 1u << SIM_RSP_STARTED;
			}
		}
		if (tw != NULL)
		{
			g->target_w = (double) sim_xml_int(tw, "value", 0);
			g->target_until = c->end;
		}
	}
	return fresh;
}

/*
 * At the start of a DER cycle: controls whose interval has ended are
 * completed; those that left the active list early are forgotten.  Marks
 * the rest unseen for this cycle's polls.
 */
static void
sim_der_tick(sim_der *g, int64_t now)
{
	int			kept = 0;

	for (int i = 0; i < g->ncontrols; i++)
	{
		sim_control *c = &g->controls[i];

		/* gone from the active list at (about) its end: it has ended */
		if (now >= c->end || (!c->seen && c->sent != 0 && now + SIM_CLOCK_SLACK >= c->end))
		{
			if ((c->sent & (1u << SIM_RSP_STARTED)) && c->reply_to[0] == '/')
				sim_der_queue(g, c, SIM_RSP_COMPLETED);
			continue;
		}
		if (!c->seen && c->sent != 0)
			continue;
		c->seen = false;
		g->controls[kept++] = *c;
	}
	g->ncontrols = kept;
	g->prog_at = 0;
}

/* ---- writing documents ---- */

/* The finished document, new; NULL when it could not be written. */
static char *
sim_xw_done(arena *a, sep2_xw *w)
{
	const char *doc;
	size_t		len;
	char	   *out = NULL;

	if (w != NULL && sep2_xw_finish(w, &doc, &len, NULL) == DERMS_OK)
		out = strndup(doc, len);
	arena_destroy(a);
	return out;
}

static void
sim_xw_status(sep2_xw *w, const char *name, int64_t t, const char *value)
{
	char		ts[24];

	snprintf(ts, sizeof(ts), "%" PRId64, t);
	sep2_xw_open(w, name, (char *) NULL);
	sep2_xw_text(w, "dateTime", ts);
	sep2_xw_text(w, "value", value);
	sep2_xw_close(w);
}

/* The first pending Response as a DERControlResponse, new. */
static char *
sim_der_rsp_body(const sim_der *g, const char *lfdi)
{
	arena	   *a = arena_create(1024);
	sep2_xw    *w = a ? sep2_xw_new(a) : NULL;

	if (w == NULL || g->npending == 0)
		return a ? sim_xw_done(a, NULL) : NULL;
	sep2_xw_open(w, "DERControlResponse", (char *) NULL);
	sep2_xw_int(w, "createdDateTime", sim_wall());
	sep2_xw_text(w, "endDeviceLFDI", lfdi);
	sep2_xw_int(w, "status", g->pending[0].status);
	sep2_xw_text(w, "subject", g->pending[0].mrid);
	sep2_xw_close(w);
	return sim_xw_done(a, w);
}

/* The Response just posted is no longer pending. */
static void
sim_der_rsp_done(sim_der *g)
{
	if (g->npending > 0)
	{
		memmove(&g->pending[0], &g->pending[1], sizeof(g->pending[0]) * (size_t) (g->npending - 1));
		g->npending--;
	}
}

/* DERStatus from the battery, new. */
static char *
sim_der_status_body(const sim_battery *b)
{
	arena	   *a = arena_create(1024);
	sep2_xw    *w = a ? sep2_xw_new(a) : NULL;
	int64_t		now = sim_wall();
	char		v[16];

	if (w == NULL)
		return a ? sim_xw_done(a, NULL) : NULL;
	sep2_xw_open(w, "DERStatus", (char *) NULL);
	sim_xw_status(w, "genConnectStatus", now, "01");
	sim_xw_status(w, "operationalModeStatus", now, "2");
	sep2_xw_int(w, "readingTime", now);
	snprintf(v, sizeof(v), "%d", (int) (b->soc * 10000.0 + 0.5));
	sim_xw_status(w, "stateOfChargeStatus", now, v);
	/* 0 charging, 1 discharging, 2 holding */
	sim_xw_status(w, "storageModeStatus", now,
				  b->setpoint_w > 0 ? "0" : b->setpoint_w < 0 ? "1" : "2");
	sim_xw_status(w, "storConnectStatus", now, "01");
	sep2_xw_close(w);
	return sim_xw_done(a, w);
}

/* DERAvailability from the battery, new. */
static char *
sim_der_avail_body(const sim_battery *b)
{
	arena	   *a = arena_create(1024);
	sep2_xw    *w = a ? sep2_xw_new(a) : NULL;
	double		wh = (b->soc - SIM_SOC_MIN) * b->capacity_wh;
	double		watts = b->max_w > 32767 ? 32767 : b->max_w;

	if (w == NULL)
		return a ? sim_xw_done(a, NULL) : NULL;
	sep2_xw_open(w, "DERAvailability", (char *) NULL);
	sep2_xw_int(w, "availabilityDuration", (int64_t) (wh > 0 ? wh * 3600.0 / b->max_w : 0));
	sep2_xw_int(w, "readingTime", sim_wall());
	sep2_xw_int(w, "reserveChargePercent", (int64_t) (SIM_SOC_MIN * 10000));
	sep2_xw_open(w, "statWAvail", (char *) NULL);
	sep2_xw_int(w, "multiplier", 0);
	sep2_xw_int(w, "value", (int64_t) watts);
	sep2_xw_close(w);
	sep2_xw_close(w);
	return sim_xw_done(a, w);
}

/* The mirror of the device's meter, new; mRID from its LFDI. */
static char *
sim_der_mup_body(const char *lfdi)
{
	arena	   *a = arena_create(1024);
	sep2_xw    *w = a ? sep2_xw_new(a) : NULL;
	char		mrid[33];

	if (w == NULL)
		return a ? sim_xw_done(a, NULL) : NULL;
	snprintf(mrid, sizeof(mrid), "%.32s", lfdi);
	sep2_xw_open(w, "MirrorUsagePoint", (char *) NULL);
	sep2_xw_text(w, "mRID", mrid);
	sep2_xw_text(w, "description", "dermsim battery");
	sep2_xw_text(w, "roleFlags", "0049");
	sep2_xw_int(w, "serviceCategoryKind", 0);
	sep2_xw_int(w, "status", 1);
	sep2_xw_text(w, "deviceLFDI", lfdi);
	sep2_xw_close(w);
	return sim_xw_done(a, w);
}

static void
sim_xw_mmr(sep2_xw *w, const char *mrid, const char *what, int64_t start, int64_t step,
		   int64_t value, int kind, int uom, int mult)
{
	char		set[40];

	snprintf(set, sizeof(set), "%.30s01", mrid);
	sep2_xw_open(w, "MirrorMeterReading", (char *) NULL);
	sep2_xw_text(w, "mRID", mrid);
	sep2_xw_text(w, "description", what);
	sep2_xw_open(w, "MirrorReadingSet", (char *) NULL);
	sep2_xw_text(w, "mRID", set);
	sep2_xw_open(w, "timePeriod", (char *) NULL);
	sep2_xw_int(w, "duration", step);
	sep2_xw_int(w, "start", start);
	sep2_xw_close(w);
	sep2_xw_open(w, "Reading", (char *) NULL);
	sep2_xw_open(w, "timePeriod", (char *) NULL);
	sep2_xw_int(w, "duration", step);
	sep2_xw_int(w, "start", start);
	sep2_xw_close(w);
	sep2_xw_int(w, "value", value);
	sep2_xw_close(w);
	sep2_xw_close(w);
	sep2_xw_open(w, "ReadingType", (char *) NULL);
	sep2_xw_int(w, "accumulationBehaviour", 12);	/* instantaneous */
	sep2_xw_int(w, "commodity", 1);
	sep2_xw_int(w, "flowDirection", 1);
	sep2_xw_int(w, "intervalLength", step);
	sep2_xw_int(w, "kind", kind);
	sep2_xw_int(w, "powerOfTenMultiplier", mult);
	sep2_xw_int(w, "uom", uom);
	sep2_xw_close(w);
	sep2_xw_close(w);
}

/*
 * Telemetry for the interval of post_rate seconds holding now: real power
 * (W, > 0 charging) and state of charge (hundredths of a per cent), as a
 * MirrorMeterReadingList, new.  Two readings; the same interval posted
 * again replaces nothing (ingest is idempotent).
 */
static char *
sim_der_mmr_body(const sim_der *g, const sim_battery *b, const char *lfdi)
{
	arena	   *a = arena_create(4096);
	sep2_xw    *w = a ? sep2_xw_new(a) : NULL;
	int64_t		step = g->post_rate >= 1 ? (int64_t) g->post_rate : 1;
	int64_t		start = sim_wall() / step * step;
	char		m1[33], m2[33];

	if (w == NULL)
		return a ? sim_xw_done(a, NULL) : NULL;
	snprintf(m1, sizeof(m1), "%.28s0001", lfdi);
	snprintf(m2, sizeof(m2), "%.28s0002", lfdi);
	sep2_xw_open(w, "MirrorMeterReadingList", (char *) NULL);
	sep2_xw_list_attrs(w, 2, 2);
	sim_xw_mmr(w, m1, "real power", start, step, (int64_t) b->setpoint_w, 37, 38, 0);
	sim_xw_mmr(w, m2, "state of charge %", start, step,
			   (int64_t) (b->soc * 10000.0 + 0.5), 0, 0, -2);
	sep2_xw_close(w);
	return sim_xw_done(a, w);
}

#endif							/* DERMS_BENCH_DERMSIM_DER_H */
