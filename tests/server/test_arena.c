/*
 * tests/server/test_arena.c
 *	  Tests for server/arena.c: alignment, large blocks, cleanups order.
 */
#include <stdint.h>
#include <string.h>

#include "server/arena.h"
#include "tests/suites.h"

static int	order[8];
static int	norder;

static void
record(void *p)
{
	order[norder++] = (int) (intptr_t) p;
}

START_TEST(test_alignment_and_sizes)
{
	arena	   *a = arena_create(256);

	ck_assert_ptr_nonnull(a);
	for (size_t n = 1; n < 200; n += 7)
	{
		unsigned char *p = arena_alloc(a, n);

		ck_assert_ptr_nonnull(p);
		ck_assert_uint_eq((uintptr_t) p % 16, 0);
		memset(p, 0xab, n);
	}
	/* a block larger than the block size */
	{
		char	   *big = arena_alloc(a, 100000);

		ck_assert_ptr_nonnull(big);
		memset(big, 1, 100000);
	}
	ck_assert_uint_ge(arena_used(a), 100000);
	arena_destroy(a);
}
END_TEST

START_TEST(test_strings)
{
	arena	   *a = arena_create(0);
	char	   *s = arena_printf(a, "%s-%d", "lfdi", 42);

	ck_assert_str_eq(s, "lfdi-42");
	ck_assert_str_eq(arena_strndup(a, "abcdef", 3), "abc");
	ck_assert_str_eq(arena_strdup(a, ""), "");
	{
		int		   *z = arena_calloc(a, 10, sizeof(int));

		for (int i = 0; i < 10; i++)
			ck_assert_int_eq(z[i], 0);
	}
	ck_assert_ptr_null(arena_calloc(a, SIZE_MAX / 2, 4));
	arena_destroy(a);
}
END_TEST

START_TEST(test_cleanups_newest_first)
{
	arena	   *a = arena_create(0);

	norder = 0;
	arena_on_destroy(a, record, (void *) 1);
	arena_on_destroy(a, record, (void *) 2);
	arena_on_destroy(a, record, (void *) 3);
	arena_destroy(a);
	ck_assert_int_eq(norder, 3);
	ck_assert_int_eq(order[0], 3);
	ck_assert_int_eq(order[1], 2);
	ck_assert_int_eq(order[2], 1);
}
END_TEST

Suite *
arena_suite(void)
{
	Suite	   *s = suite_create("arena");
	TCase	   *tc = tcase_create("core");

	tcase_add_test(tc, test_alignment_and_sizes);
	tcase_add_test(tc, test_strings);
	tcase_add_test(tc, test_cleanups_newest_first);
	suite_add_tcase(s, tc);
	return s;
}
