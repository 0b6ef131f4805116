/*
 * server/router.c
 *	  Matching a method and path against the route table.
 *
 * NOTES
 *	  Pure: no sockets, no database.  Patterns are literal segments and
 *	  "{name}" placeholders that match exactly one non-empty segment.  The
 *	  table is small (tens of rows per listener), so a linear scan is fine
 *	  and keeps matching obvious; revisit if it ever shows in a profile.
 */
#include "http.h"

#include <assert.h>
#include <stdio.h>
#include <string.h>

/*
 * Does path match pattern?  If a is not NULL, copies the captured
 * segments into params.
 */
static bool
pattern_match(const char *pattern, const char *path, arena *a,
			  const char **params, size_t *nparams)
{
	const char *p = pattern;
	const char *s = path;
	size_t		n = 0;

	while (*p && *s)
	{
		if (*p == '{')
		{
			const char *end = strchr(p, '}');
			size_t		seglen = strcspn(s, "/");

			if (end == NULL || seglen == 0)
				return false;
			if (n >= HTTP_MAX_PARAMS)
				return false;
			if (a != NULL)
			{
				params[n] = arena_strndup(a, s, seglen);
				if (params[n] == NULL)
					return false;
			}
			n++;
			p = end + 1;
			s += seglen;
			continue;
		}
		if (*p != *s)
			return false;
		p++;
		s++;
	}
	if (*p != '\0' || *s != '\0')
		return false;
	if (nparams)
		*nparams = n;
	return true;
}

int
http_route_find(http_listener_kind listener, const char *method,
				const char *path, arena *a, const char **params,
				size_t *nparams, char *allow, size_t allowlen)
{
	size_t		used = 0;

	assert(method != NULL && path != NULL);
	if (allow && allowlen)
		allow[0] = '\0';
	for (size_t i = 0; i < http_nroutes; i++)
	{
		const http_route *r = &http_routes[i];

		if (r->listener != listener)
			continue;
		if (!pattern_match(r->pattern, path, NULL, NULL, NULL))
			continue;
		if (strcmp(r->method, method) == 0)
		{
			if (a != NULL && params != NULL)
				pattern_match(r->pattern, path, a, params, nparams);
			else if (nparams)
				*nparams = 0;
			return (int) i;
		}
		if (allow && allowlen && strstr(allow, r->method) == NULL)
		{
			int			w = snprintf(allow + used, allowlen - used, "%s%s",
									 used ? ", " : "", r->method);

			if (w > 0 && (size_t) w < allowlen - used)
				used += (size_t) w;
		}
	}
	/* HEAD is answered wherever GET is */
	if (strcmp(method, "HEAD") == 0)
		return http_route_find(listener, "GET", path, a, params, nparams,
							   allow, allowlen);
	return -1;
}

const char *
http_route_check(const http_route *r)
{
	static const char *const methods[] = {"GET", "POST", "PUT", "DELETE"};
	bool		method_ok = false;
	int			depth = 0;

	if (r->handler == NULL)
		return "no handler";
	if (r->pattern == NULL || r->pattern[0] != '/')
		return "pattern must start with '/'";
	if ((unsigned) r->listener >= HTTP_NLISTENERS)
		return "unknown listener";
	for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
		if (r->method && strcmp(r->method, methods[i]) == 0)
			method_ok = true;
	if (!method_ok)
		return "unknown method";
	if (r->roles == 0 ||
		(r->roles & ~(HTTP_ROLE_ALL_CERT | HTTP_ROLE_ANON | HTTP_ROLE_ALL_TOKEN)) != 0)
		return "invalid roles";
	/* the VTN's token endpoints are reached before any credential */
	if ((r->roles & HTTP_ROLE_ANON) && r->listener == HTTP_SEP2)
		return "anonymous routes are not allowed on the 2030.5 listener";
	if ((r->roles & HTTP_ROLE_ALL_TOKEN) && r->listener != HTTP_VTN)
		return "bearer-token roles exist on the VTN listener only";
	if (strcmp(r->method, "GET") == 0 && r->body_type != HTTP_CT_NONE)
		return "GET routes take no body";
	for (const char *p = r->pattern; *p; p++)
	{
		if (*p == '{')
		{
			if (depth++ || p[-1] != '/')
				return "placeholder must be a whole segment";
		}
		else if (*p == '}')
		{
			if (!depth-- || (p[1] != '\0' && p[1] != '/'))
				return "placeholder must be a whole segment";
		}
	}
	if (depth)
		return "unbalanced braces";
	return NULL;
}

const char *
http_ctype_mime(http_ctype ct)
{
	switch (ct)
	{
		case HTTP_CT_SEP2_XML:
			return "application/sep+xml";
		case HTTP_CT_JSON:
			return "application/json";
		case HTTP_CT_FORM:
			return "application/x-www-form-urlencoded";
		case HTTP_CT_TEXT:
			return "text/plain";
		case HTTP_CT_NONE:
			break;
	}
	return "";
}

const char *
http_role_name(unsigned role)
{
	switch (role)
	{
		case HTTP_ROLE_DEVICE:
			return "device";
		case HTTP_ROLE_AGGREGATOR:
			return "aggregator";
		case HTTP_ROLE_OPERATOR:
			return "operator";
		case HTTP_ROLE_ANON:
			return "anonymous";
		case HTTP_ROLE_BL:
			return "bl";
		case HTTP_ROLE_VEN:
			return "ven";
	}
	return "unknown";
}
