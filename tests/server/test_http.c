/*
 * tests/server/test_http.c
 *	  Tests for the route table (server/routes.c) and the router
 *	  (server/router.c): table sanity and matching, without sockets.
 */
#include <string.h>

#include "server/http.h"
#include "tests/suites.h"

START_TEST(test_table_sane)
{
	ck_assert_uint_gt(http_nroutes, 0);
	for (size_t i = 0; i < http_nroutes; i++)
	{
		const char *why = http_route_check(&http_routes[i]);

		ck_assert_msg(why == NULL, "route %s %s: %s", http_routes[i].method,
					  http_routes[i].pattern, why ? why : "");
		for (size_t j = i + 1; j < http_nroutes; j++)
			ck_assert_msg(!(http_routes[i].listener == http_routes[j].listener &&
							strcmp(http_routes[i].method, http_routes[j].method) == 0 &&
							strcmp(http_routes[i].pattern, http_routes[j].pattern) == 0),
						  "duplicate route %s %s", http_routes[i].method,
						  http_routes[i].pattern);
	}
	ck_assert_uint_lt(http_nroutes, 255);	/* metrics keep one row per route */
}
END_TEST

/* the checker itself must refuse bad rows */
static int
dummy_handler(http_request *req)
{
	return req->status;
}

static const struct
{
	http_route	r;
	const char *why;
}			bad_routes[] = {
	{{HTTP_SEP2, "GET", "/x", NULL, HTTP_ROLE_DEVICE, HTTP_CT_NONE, 0}, "no handler"},
	{{HTTP_SEP2, "GET", "x", dummy_handler, HTTP_ROLE_DEVICE, HTTP_CT_NONE, 0}, "pattern"},
	{{HTTP_SEP2, "PATCHY", "/x", dummy_handler, HTTP_ROLE_DEVICE, HTTP_CT_NONE, 0}, "method"},
	{{HTTP_SEP2, "GET", "/x", dummy_handler, 0, HTTP_CT_NONE, 0}, "roles"},
	{{HTTP_SEP2, "GET", "/x", dummy_handler, 0x100, HTTP_CT_NONE, 0}, "roles"},
	{{HTTP_SEP2, "GET", "/x", dummy_handler, HTTP_ROLE_ANON, HTTP_CT_NONE, 0}, "2030.5"},
	{{HTTP_SEP2, "GET", "/x", dummy_handler, HTTP_ROLE_VEN, HTTP_CT_NONE, 0}, "VTN"},
	{{HTTP_ADMIN, "GET", "/x", dummy_handler, HTTP_ROLE_BL, HTTP_CT_NONE, 0}, "VTN"},
	{{HTTP_SEP2, "GET", "/x", dummy_handler, HTTP_ROLE_DEVICE, HTTP_CT_JSON, 0}, "body"},
	{{HTTP_SEP2, "GET", "/x{id}", dummy_handler, HTTP_ROLE_DEVICE, HTTP_CT_NONE, 0}, "segment"},
	{{HTTP_SEP2, "GET", "/x/{id", dummy_handler, HTTP_ROLE_DEVICE, HTTP_CT_NONE, 0}, "unbalanced"},
};

START_TEST(test_checker_refuses)
{
	const char *why = http_route_check(&bad_routes[_i].r);

	ck_assert_ptr_nonnull(why);
	ck_assert_msg(strstr(why, bad_routes[_i].why) != NULL, "case %d: \"%s\"", _i, why);
}
END_TEST

START_TEST(test_find)
{
	char		allow[64];
	size_t		np = 99;
	arena	   *a = arena_create(0);
	const char *params[HTTP_MAX_PARAMS];
	int			i;

	i = http_route_find(HTTP_SEP2, "GET", "/dcap", a, params, &np, allow, sizeof(allow));
	ck_assert_int_ge(i, 0);
	ck_assert_str_eq(http_routes[i].pattern, "/dcap");
	ck_assert_uint_eq(np, 0);

	/* HEAD is served where GET is */
	ck_assert_int_eq(http_route_find(HTTP_SEP2, "HEAD", "/dcap", a, params, &np,
									 allow, sizeof(allow)), i);

	/* wrong method: -1 and the allowed methods */
	ck_assert_int_eq(http_route_find(HTTP_SEP2, "POST", "/dcap", a, params, &np,
									 allow, sizeof(allow)), -1);
	ck_assert_str_eq(allow, "GET");

	/* unknown path: -1 and nothing allowed */
	ck_assert_int_eq(http_route_find(HTTP_SEP2, "GET", "/nope", a, params, &np,
									 allow, sizeof(allow)), -1);
	ck_assert_str_eq(allow, "");

	/* listeners are separate */
	ck_assert_int_eq(http_route_find(HTTP_VTN, "GET", "/dcap", a, params, &np,
									 allow, sizeof(allow)), -1);
	ck_assert_int_eq(http_route_find(HTTP_SEP2, "GET", "/healthz", a, params, &np,
									 allow, sizeof(allow)), -1);
	ck_assert_int_ge(http_route_find(HTTP_ADMIN, "GET", "/metrics", a, params, &np,
									 allow, sizeof(allow)), 0);

	/* trailing slash and prefixes do not match */
	ck_assert_int_eq(http_route_find(HTTP_SEP2, "GET", "/dcap/", a, params, &np,
									 allow, sizeof(allow)), -1);
	ck_assert_int_eq(http_route_find(HTTP_SEP2, "GET", "/dca", a, params, &np,
									 allow, sizeof(allow)), -1);
	arena_destroy(a);
}
END_TEST

Suite *
http_suite(void)
{
	Suite	   *s = suite_create("http");
	TCase	   *tc = tcase_create("routes");

	tcase_add_test(tc, test_table_sane);
	tcase_add_loop_test(tc, test_checker_refuses, 0,
						(int) (sizeof(bad_routes) / sizeof(bad_routes[0])));
	tcase_add_test(tc, test_find);
	suite_add_tcase(s, tc);
	return s;
}
