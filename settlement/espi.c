/*
 * settlement/espi.c
 *	  NAESB REQ.21 ESPI (Green Button) interval data of an export, as an
 *	  Atom feed: one ReadingType, then per usage point (the aggregation
 *	  first, then each member) a UsagePoint, a MeterReading and one
 *	  IntervalBlock holding the trading day.
 *
 * NOTES
 *	  Every espi:* element inside atom:content carries its own namespace
 *	  declaration, so each is a standalone document valid against
 *	  espi.xsd (the tests check them one by one).  Values are Wh
 *	  (uom 72, powerOfTenMultiplier 0), the same integers as every other
 *	  file.  An estimated interval carries ReadingQuality 9 ("estimated
 *	  using linear interpolation"; held readings at the ends of the data
 *	  are reported the same way).  Entry ids are name-based UUIDs
 *	  (version 5, SHA-1) of the ISO, aggregation, day and entry, and
 *	  "updated" is the end of the trading day, so the feed is reproducible.
 */
#include "export.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "settlement/tz.h"

#define ESPI_NS "http://naesb.org/espi"
#define ESPI_BASE "/espi/1_1/resource"

/* RFC 4122 version-5 UUID of name under a fixed namespace. */
static derms_rc
name_uuid(const char *name, char out[37], derms_err *err)
{
	/* our namespace: a random UUID chosen once for these feeds */
	static const unsigned char ns[16] = {
		0x5e, 0x1d, 0x7c, 0x0a, 0x9b, 0x41, 0x4f, 0x2e,
		0x8d, 0x36, 0x61, 0xa4, 0x0c, 0x2f, 0x93, 0x75
	};
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	int			ok;

	if (ctx == NULL)
		return derms_err_set(err, DERMS_ENOMEM, "out of memory");
	ok = EVP_DigestInit_ex(ctx, EVP_sha1(), NULL) == 1 &&
		EVP_DigestUpdate(ctx, ns, sizeof(ns)) == 1 &&
		EVP_DigestUpdate(ctx, name, strlen(name)) == 1 &&
		EVP_DigestFinal_ex(ctx, md, &mdlen) == 1 && mdlen >= 16;
	EVP_MD_CTX_free(ctx);
	if (!ok)
		return derms_err_set(err, DERMS_EIO, "could not compute SHA-1");
	md[6] = (unsigned char) ((md[6] & 0x0f) | 0x50);
	md[8] = (unsigned char) ((md[8] & 0x3f) | 0x80);
	snprintf(out, 37,
			 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
			 md[0], md[1], md[2], md[3], md[4], md[5], md[6], md[7], md[8],
			 md[9], md[10], md[11], md[12], md[13], md[14], md[15]);
	return DERMS_OK;
}

typedef struct feed
{
	FILE	   *f;
	const settle_export *x;
	char		day[SETTLE_TIME_STRMAX];
	char		updated[SETTLE_TIME_STRMAX];
} feed;

/* Open an entry: id, title, updated, links (NULL-terminated rel/href
 * pairs).  Returns non-OK only when the id cannot be made. */
static derms_rc
entry_open(feed *fd, const char *what, const char *title,
		   const char *const *links, derms_err *err)
{
	char		name[512];
	char		uuid[37];
	derms_rc	rc;

	snprintf(name, sizeof(name), "%s/%s/%s/%s", fd->x->req->iso->name,
			 fd->x->req->aggregation, fd->day, what);
	if ((rc = name_uuid(name, uuid, err)) != DERMS_OK)
		return rc;
	fprintf(fd->f, "<entry><id>urn:uuid:%s</id>\n", uuid);
	for (int i = 0; links[i] != NULL; i += 2)
		fprintf(fd->f, "<link rel=\"%s\" href=\"%s\"/>\n", links[i],
				links[i + 1]);
	fprintf(fd->f, "<title>%s</title>\n<updated>%s</updated>\n<content>",
			title, fd->updated);
	return DERMS_OK;
}

static void
entry_close(feed *fd)
{
	fputs("</content></entry>\n", fd->f);
}

static int
time_attribute(int32_t S)
{
	/* TimeAttributeKind: 6 = 5-minute, 2 = 15-minute, 7 = 60-minute */
	return S == 300 ? 6 : S == 900 ? 2 : 7;
}

static derms_rc
reading_type(feed *fd, const char *rt_href, derms_err *err)
{
	const char *links[] = {"self", rt_href, NULL};
	derms_rc	rc;

	if ((rc = entry_open(fd, "ReadingType", "Energy, Wh per interval",
						 links, err)) != DERMS_OK)
		return rc;
	/* element order is the schema's sequence */
	fprintf(fd->f, "<ReadingType xmlns=\"" ESPI_NS "\">"
			"<accumulationBehaviour>4</accumulationBehaviour>"
			"<commodity>1</commodity>"
			"<dataQualifier>12</dataQualifier>"
			"<flowDirection>1</flowDirection>"
			"<intervalLength>%d</intervalLength>"
			"<kind>12</kind>"
			"<powerOfTenMultiplier>0</powerOfTenMultiplier>"
			"<timeAttribute>0</timeAttribute>"
			"<uom>72</uom>"
			"<measuringPeriod>%d</measuringPeriod>"
			"</ReadingType>", (int) fd->x->interval_s,
			time_attribute(fd->x->interval_s));
	entry_close(fd);
	return DERMS_OK;
}

/* UsagePoint, MeterReading and IntervalBlock of row r (number up). */
static derms_rc
usage_point(feed *fd, size_t r, size_t up, const char *rt_href,
			derms_err *err)
{
	const settle_export *x = fd->x;
	bool		agg = r == x->req->nmembers;
	const char *id = agg ? x->req->aggregation : x->req->members[r];
	char		what[128];
	char		title[160];
	char		dur[80];
	/* each link extends the one before; sizes grow with them */
	char		upall[160],
				upself[192],
				mrall[224],
				mrself[256],
				iball[288],
				ibself[320];
	derms_rc	rc;

	snprintf(upall, sizeof(upall), ESPI_BASE "/Subscription/%s/UsagePoint",
			 x->req->aggregation);
	snprintf(upself, sizeof(upself), "%s/%zu", upall, up);
	snprintf(mrall, sizeof(mrall), "%s/MeterReading", upself);
	snprintf(mrself, sizeof(mrself), "%s/1", mrall);
	snprintf(iball, sizeof(iball), "%s/IntervalBlock", mrself);
	snprintf(ibself, sizeof(ibself), "%s/1", iball);
	snprintf(title, sizeof(title), "%s %s", agg ? "aggregation" : "resource", id);

	{
		const char *links[] = {"self", upself, "up", upall, "related", mrall, NULL};

		snprintf(what, sizeof(what), "UsagePoint/%zu", up);
		if ((rc = entry_open(fd, what, title, links, err)) != DERMS_OK)
			return rc;
		fputs("<UsagePoint xmlns=\"" ESPI_NS "\"><ServiceCategory><kind>0</kind>"
			  "</ServiceCategory></UsagePoint>", fd->f);
		entry_close(fd);
	}
	{
		const char *links[] = {"self", mrself, "up", mrall, "related", iball,
		"related", rt_href, NULL};

		snprintf(what, sizeof(what), "UsagePoint/%zu/MeterReading/1", up);
		if ((rc = entry_open(fd, what, title, links, err)) != DERMS_OK)
			return rc;
		fputs("<MeterReading xmlns=\"" ESPI_NS "\"/>", fd->f);
		entry_close(fd);
	}
	{
		const char *links[] = {"self", ibself, "up", iball, NULL};

		snprintf(what, sizeof(what), "UsagePoint/%zu/MeterReading/1/IntervalBlock/1", up);
		if ((rc = entry_open(fd, what, title, links, err)) != DERMS_OK)
			return rc;
		fprintf(fd->f, "<IntervalBlock xmlns=\"" ESPI_NS "\">\n"
				"<interval><duration>%" PRId64 "</duration><start>%" PRId64
				"</start></interval>\n", x->end - x->start, x->start);
		snprintf(dur, sizeof(dur), "<timePeriod><duration>%d</duration><start>",
				 (int) x->interval_s);
		/* fputs, not fprintf: this loop runs for every reading */
		for (int k = 0; k < x->nslots; k++)
		{
			const settle_xcell *c = settle_export_cell(x, r, k);
			char		num[SETTLE_FIXED_MAX];

			fputs("<IntervalReading>", fd->f);
			if (c->flags & SETTLE_X_EST)
				fputs("<ReadingQuality><quality>9</quality></ReadingQuality>",
					  fd->f);
			fputs(dur, fd->f);
			settle_fmt_fixed(x->start + (int64_t) k * x->interval_s, 0, num);
			fputs(num, fd->f);
			fputs("</start></timePeriod><value>", fd->f);
			settle_fmt_fixed(c->wh, 0, num);
			fputs(num, fd->f);
			fputs("</value></IntervalReading>\n", fd->f);
		}
		fputs("</IntervalBlock>", fd->f);
		entry_close(fd);
	}
	return DERMS_OK;
}

derms_rc
settle_espi_render(const settle_export *x, char **buf, size_t *len,
				   size_t *readings, derms_err *err)
{
	feed		fd;
	char		rt_href[128];
	char		uuid[37];
	char		name[256];
	derms_rc	rc;

	memset(&fd, 0, sizeof(fd));
	fd.x = x;
	settle_fmt_date(x->req->day, fd.day);
	settle_fmt_utc(x->end, fd.updated);
	snprintf(rt_href, sizeof(rt_href), ESPI_BASE "/ReadingType/wh-%d",
			 (int) x->interval_s);
	snprintf(name, sizeof(name), "%s/%s/%s", x->req->iso->name,
			 x->req->aggregation, fd.day);
	if ((rc = name_uuid(name, uuid, err)) != DERMS_OK)
		return rc;
	*buf = NULL;
	*len = 0;
	fd.f = open_memstream(buf, len);
	if (fd.f == NULL)
		return derms_err_set(err, DERMS_ENOMEM, "out of memory");
	fprintf(fd.f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
			"<feed xmlns=\"http://www.w3.org/2005/Atom\">\n"
			"<id>urn:uuid:%s</id>\n"
			"<title>%s settlement interval data, aggregation %s, trading day %s</title>\n"
			"<updated>%s</updated>\n", uuid, x->req->iso->name,
			x->req->aggregation, fd.day, fd.updated);
	rc = reading_type(&fd, rt_href, err);
	/* the aggregation as usage point 1, then the members */
	for (size_t i = 0; rc == DERMS_OK && i < x->nrows; i++)
		rc = usage_point(&fd, i == 0 ? x->req->nmembers : i - 1, i + 1,
						 rt_href, err);
	fputs("</feed>\n", fd.f);
	if (fclose(fd.f) != 0 && rc == DERMS_OK)
		rc = derms_err_set(err, DERMS_ENOMEM, "out of memory");
	if (rc != DERMS_OK)
	{
		free(*buf);
		*buf = NULL;
		return rc;
	}
	*readings = x->nrows * (size_t) x->nslots;
	return DERMS_OK;
}
