/*
 * settlement/afile.c
 *	  Staged, fsync'ed, renamed output files and their SHA-256.
 *
 * NOTES
 *	  The order is what makes a crash harmless: write the temporary, fsync
 *	  it, close it; rename only after every file of the set is staged;
 *	  fsync the directory so the renames survive a power cut.  Callers
 *	  commit the manifest as a set of its own, after the files it lists.
 */
#include "afile.h"

#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

derms_rc
settle_sha256_hex(const void *buf, size_t len, char hex[SETTLE_SHA256_HEX],
				  derms_err *err)
{
	static const char digits[] = "0123456789abcdef";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;

	if (EVP_Digest(buf, len, md, &mdlen, EVP_sha256(), NULL) != 1 ||
		mdlen != 32)
		return derms_err_set(err, DERMS_EIO, "could not compute SHA-256");
	for (unsigned int i = 0; i < mdlen; i++)
	{
		hex[2 * i] = digits[md[i] >> 4];
		hex[2 * i + 1] = digits[md[i] & 15];
	}
	hex[2 * mdlen] = '\0';
	return DERMS_OK;
}

derms_rc
settle_afile_check_dir(const char *dir, derms_err *err)
{
	struct stat st;

	if (stat(dir, &st) != 0)
		return derms_err_set(err, DERMS_EIO,
							 "could not use output directory \"%s\": %m", dir);
	if (!S_ISDIR(st.st_mode))
		return derms_err_set(err, DERMS_EINVAL,
							 "output \"%s\" is not a directory", dir);
	if (access(dir, W_OK | X_OK) != 0)
		return derms_err_set(err, DERMS_EPERM,
							 "output directory \"%s\" is not writable: %m",
							 dir);
	return DERMS_OK;
}

void
settle_afile_init(settle_afile_set *set, const char *dir)
{
	memset(set, 0, sizeof(*set));
	set->dir = dir;
}

/* "dir/name" into buf */
static void
join(char *buf, size_t size, const char *dir, const char *name)
{
	snprintf(buf, size, "%s/%s", dir, name);
}

void
settle_afile_abort(settle_afile_set *set)
{
	char		path[4096];

	for (int i = 0; i < set->n; i++)
	{
		join(path, sizeof(path), set->dir, set->tmp[i]);
		(void) unlink(path);
	}
	set->n = 0;
}

static derms_rc
write_all(int fd, const char *buf, size_t len)
{
	while (len > 0)
	{
		ssize_t		w = write(fd, buf, len);

		if (w < 0)
		{
			if (errno == EINTR)
				continue;
			return DERMS_EIO;
		}
		buf += w;
		len -= (size_t) w;
	}
	return DERMS_OK;
}

derms_rc
settle_afile_stage(settle_afile_set *set, const char *name, const char *buf,
				   size_t len, derms_err *err)
{
	char		path[4096];
	int			fd;

	assert(set != NULL && name != NULL && buf != NULL);
	if (set->n >= SETTLE_AFILE_MAX || strlen(name) >= SETTLE_AFILE_NAME_MAX ||
		strchr(name, '/') != NULL)
	{
		settle_afile_abort(set);
		return derms_err_set(err, DERMS_EINVAL,
							 "invalid output file name \"%.64s\"", name);
	}
	snprintf(set->name[set->n], SETTLE_AFILE_NAME_MAX, "%s", name);
	snprintf(set->tmp[set->n], sizeof(set->tmp[0]), ".%s.tmp.%ld", name,
			 (long) getpid());
	join(path, sizeof(path), set->dir, set->tmp[set->n]);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
	{
		derms_err_set(err, DERMS_EIO, "could not create \"%s\": %m", path);
		settle_afile_abort(set);
		return DERMS_EIO;
	}
	set->n++;
	if (write_all(fd, buf, len) != DERMS_OK || fsync(fd) != 0)
	{
		derms_err_set(err, DERMS_EIO, "could not write \"%s\": %m", path);
		close(fd);
		settle_afile_abort(set);
		return DERMS_EIO;
	}
	if (close(fd) != 0)
	{
		derms_err_set(err, DERMS_EIO, "could not write \"%s\": %m", path);
		settle_afile_abort(set);
		return DERMS_EIO;
	}
	return DERMS_OK;
}

derms_rc
settle_afile_commit(settle_afile_set *set, derms_err *err)
{
	char		from[4096];
	char		to[4096];
	int			dfd;

	for (int i = 0; i < set->n; i++)
	{
		join(from, sizeof(from), set->dir, set->tmp[i]);
		join(to, sizeof(to), set->dir, set->name[i]);
		if (rename(from, to) != 0)
		{
			derms_err_set(err, DERMS_EIO, "could not rename \"%s\" to \"%s\": %m",
						  from, to);
			/* the files already renamed are complete; drop the rest */
			for (int j = i; j < set->n; j++)
			{
				join(from, sizeof(from), set->dir, set->tmp[j]);
				(void) unlink(from);
			}
			set->n = 0;
			return DERMS_EIO;
		}
	}
	set->n = 0;
	dfd = open(set->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0 || fsync(dfd) != 0)
	{
		derms_err_set(err, DERMS_EIO, "could not sync directory \"%s\": %m",
					  set->dir);
		if (dfd >= 0)
			close(dfd);
		return DERMS_EIO;
	}
	close(dfd);
	return DERMS_OK;
}

int
settle_afile_sweep(const char *dir)
{
	DIR		   *d = opendir(dir);
	struct dirent *de;
	int			removed = 0;

	if (d == NULL)
		return 0;
	while ((de = readdir(d)) != NULL)
	{
		const char *t = strstr(de->d_name, ".tmp.");
		char	   *end;
		long		pid;
		char		path[4096];

		if (de->d_name[0] != '.' || t == NULL || t == de->d_name)
			continue;
		/* the last ".tmp." is followed by the writer's pid and nothing else */
		while (strstr(t + 1, ".tmp.") != NULL)
			t = strstr(t + 1, ".tmp.");
		errno = 0;
		pid = strtol(t + 5, &end, 10);
		if (errno != 0 || end == t + 5 || *end != '\0' || pid <= 0)
			continue;
		if (pid == (long) getpid() ||
			kill((pid_t) pid, 0) == 0 || errno != ESRCH)
			continue;			/* its writer may still be running */
		join(path, sizeof(path), dir, de->d_name);
		if (unlink(path) == 0)
			removed++;
	}
	closedir(d);
	return removed;
}
