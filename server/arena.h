/*
 * server/arena.h
 *	  Region allocator: one arena per HTTP request, per job, per process.
 *
 * NOTES
 *	  Memory from an arena is never freed alone; arena_destroy() releases it
 *	  all and runs the registered cleanups newest-first, so libpq results,
 *	  libxml2 documents and jansson values die with the arena that owns
 *	  them.  An arena is not thread-safe; each belongs to one thread.
 */
#ifndef DERMS_ARENA_H
#define DERMS_ARENA_H

#include <stdarg.h>
#include <stddef.h>

typedef struct arena arena;
typedef void (*arena_cleanup_fn) (void *);

/* new; NULL on allocation failure.  block_size 0 picks the default. */
arena	   *arena_create(size_t block_size);
void		arena_destroy(arena *a);

/* borrowed; 16-byte aligned; NULL on allocation failure. */
void	   *arena_alloc(arena *a, size_t size);
void	   *arena_calloc(arena *a, size_t n, size_t size);
char	   *arena_strdup(arena *a, const char *s);
char	   *arena_strndup(arena *a, const char *s, size_t n);
char	   *arena_printf(arena *a, const char *fmt,...)
			__attribute__((format(printf, 2, 3)));
char	   *arena_vprintf(arena *a, const char *fmt, va_list ap);

/* Run fn(ptr) when the arena is destroyed.  Returns 0, or -1 on ENOMEM
 * (in which case fn(ptr) has already been run). */
int			arena_on_destroy(arena *a, arena_cleanup_fn fn, void *ptr);

/* Bytes handed out so far (for limits and tests). */
size_t		arena_used(const arena *a);

#endif							/* DERMS_ARENA_H */
