/*
 * server/arena.c
 *	  Region allocator with destroy-time cleanups.
 *
 * NOTES
 *	  Blocks form a singly linked list; a request larger than a quarter of
 *	  the block size gets a block of its own so a big body does not waste
 *	  the tail of the current one.
 */
#include "arena.h"

#include <assert.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ARENA_DEFAULT_BLOCK 8192
#define ARENA_ALIGN 16

struct arena_block
{
	struct arena_block *next;
	size_t		size;
	size_t		used;
	_Alignas(16) unsigned char data[];
};

struct arena_cleanup
{
	struct arena_cleanup *next;
	arena_cleanup_fn fn;
	void	   *ptr;
};

struct arena
{
	struct arena_block *head;
	struct arena_cleanup *cleanups;
	size_t		block_size;
	size_t		total;
};

arena *
arena_create(size_t block_size)
{
	arena	   *a = calloc(1, sizeof(*a));

	if (a == NULL)
		return NULL;
	a->block_size = block_size ? block_size : ARENA_DEFAULT_BLOCK;
	return a;
}

void
arena_destroy(arena *a)
{
	if (a == NULL)
		return;
	while (a->cleanups)
	{
		struct arena_cleanup *c = a->cleanups;

		a->cleanups = c->next;
		c->fn(c->ptr);
	}
	while (a->head)
	{
		struct arena_block *b = a->head;

		a->head = b->next;
		free(b);
	}
	free(a);
}

static struct arena_block *
block_new(size_t size)
{
	struct arena_block *b = malloc(sizeof(*b) + size);

	if (b == NULL)
		return NULL;
	b->next = NULL;
	b->size = size;
	b->used = 0;
	return b;
}

void *
arena_alloc(arena *a, size_t size)
{
	struct arena_block *b;
	size_t		need;

	assert(a != NULL);
	if (size == 0)
		size = 1;
	if (size > SIZE_MAX - ARENA_ALIGN)
		return NULL;
	need = (size + ARENA_ALIGN - 1) & ~(size_t) (ARENA_ALIGN - 1);

	b = a->head;
	if (b == NULL || b->size - b->used < need)
	{
		if (need > a->block_size / 4)
		{
			/* oversized: own block, linked behind the current one */
			b = block_new(need);
			if (b == NULL)
				return NULL;
			if (a->head)
			{
				b->next = a->head->next;
				a->head->next = b;
			}
			else
				a->head = b;
			b->used = need;
			a->total += need;
			return b->data;
		}
		b = block_new(a->block_size);
		if (b == NULL)
			return NULL;
		b->next = a->head;
		a->head = b;
	}
	b->used += need;
	a->total += need;
	return b->data + b->used - need;
}

void *
arena_calloc(arena *a, size_t n, size_t size)
{
	void	   *p;

	if (size != 0 && n > SIZE_MAX / size)
		return NULL;
	p = arena_alloc(a, n * size);
	if (p)
		memset(p, 0, n * size);
	return p;
}

char *
arena_strndup(arena *a, const char *s, size_t n)
{
	char	   *p = arena_alloc(a, n + 1);

	if (p == NULL)
		return NULL;
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *
arena_strdup(arena *a, const char *s)
{
	return arena_strndup(a, s, strlen(s));
}

char *
arena_vprintf(arena *a, const char *fmt, va_list ap)
{
	va_list		ap2;
	int			n;
	char	   *p;

	va_copy(ap2, ap);
	n = vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	if (n < 0)
		return NULL;
	p = arena_alloc(a, (size_t) n + 1);
	if (p == NULL)
		return NULL;
	vsnprintf(p, (size_t) n + 1, fmt, ap);
	return p;
}

char *
arena_printf(arena *a, const char *fmt,...)
{
	va_list		ap;
	char	   *p;

	va_start(ap, fmt);
	p = arena_vprintf(a, fmt, ap);
	va_end(ap);
	return p;
}

int
arena_on_destroy(arena *a, arena_cleanup_fn fn, void *ptr)
{
	struct arena_cleanup *c;

	assert(a != NULL && fn != NULL);
	c = arena_alloc(a, sizeof(*c));
	if (c == NULL)
	{
		fn(ptr);
		return -1;
	}
	c->fn = fn;
	c->ptr = ptr;
	c->next = a->cleanups;
	a->cleanups = c;
	return 0;
}

size_t
arena_used(const arena *a)
{
	return a->total;
}
