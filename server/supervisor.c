/*
 * server/supervisor.c
 *	  The supervisor: listening sockets, the role table, forking, reaping,
 *	  restart backoff, reload and shutdown.
 *
 * NOTES
 *	  Modelled on PostgreSQL's postmaster and nginx's master process: the
 *	  supervisor only forks, waits and signals.  Signal handlers only set
 *	  flags; the main loop keeps SIGCHLD, SIGHUP, SIGTERM and SIGINT
 *	  blocked, checks the flags, and sleeps in ppoll() with the old mask,
 *	  so no signal is lost between the check and the sleep.
 *
 *	  The "startup" role applies schema migrations (retrying while the
 *	  database is down) and exits; the roles that need the schema start
 *	  after it succeeded.  "admin" starts at once so /readyz can say why
 *	  the service is not ready yet.
 *
 *	  A worker that dies is restarted alone after 100 ms * 2^failures,
 *	  capped at 30 s; the failure count resets once it has run 10 s.
 */
#include "supervisor.h"

#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <gnutls/gnutls.h>
#include <systemd/sd-daemon.h>

#include "log.h"
#include "metrics.h"
#include "notify.h"
#include "worker.h"

#define ROLE_ONESHOT	0x01u	/* runs once to completion */
#define ROLE_EARLY		0x02u	/* starts before the startup role is done */

#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 30000
#define HEALTHY_AFTER_MS 10000

typedef struct role_def
{
	const char *name;
	worker_main_fn main;
	int			listener;		/* HTTP_* listener it serves, or -1 */
	unsigned	flags;
} role_def;

/* The dispatch role's main: it needs the protocols, so routes.c names it. */
extern const worker_main_fn supervisor_dispatch_main;

static int
dispatch_role_main(derms_config *cfg, const worker_env *env)
{
	return supervisor_dispatch_main(cfg, env);
}

static const role_def roles[] = {
	{"startup", worker_startup_main, -1, ROLE_ONESHOT | ROLE_EARLY},
	{"admin", worker_admin_main, HTTP_ADMIN, ROLE_EARLY},
	{"sep2", worker_sep2_main, HTTP_SEP2, 0},
	{"vtn", worker_vtn_main, HTTP_VTN, 0},
	{"dispatch", dispatch_role_main, -1, 0},
	{"notify", notify_main, -1, 0},
};

#define NROLES ((int) (sizeof(roles) / sizeof(roles[0])))

typedef enum slot_state
{
	SLOT_UNUSED,				/* not part of this configuration */
	SLOT_WAITING,				/* waits for the startup role */
	SLOT_RUNNING,
	SLOT_BACKOFF,				/* died; restart at restart_at */
	SLOT_HELD,					/* exited with a config error: wait for SIGHUP */
	SLOT_DONE					/* one-shot role finished */
} slot_state;

typedef struct slot
{
	int			role;
	slot_state	state;
	pid_t		pid;
	int			failures;
	uint64_t	started_at;
	uint64_t	restart_at;
} slot;

static volatile sig_atomic_t got_sigchld;
static volatile sig_atomic_t got_sighup;
static volatile sig_atomic_t got_sigterm;

static slot slots[METRICS_MAX_SLOTS];
static int	nslots;
static int	listen_fds[HTTP_NLISTENERS] = {-1, -1, -1};
static pid_t supervisor_pid;

int
supervisor_nroles(void)
{
	return NROLES;
}

const char *
supervisor_role_name(int role)
{
	return (role >= 0 && role < NROLES) ? roles[role].name : "unknown";
}

bool
supervisor_role_is_oneshot(int role)
{
	return role >= 0 && role < NROLES && (roles[role].flags & ROLE_ONESHOT);
}

int
supervisor_role_count(const derms_config *cfg, int role)
{
	const char *n = supervisor_role_name(role);

	if (strcmp(n, "startup") == 0)
		return cfg->db_migrate ? 1 : 0;
	if (strcmp(n, "admin") == 0)
		return 1;
	if (strcmp(n, "sep2") == 0)
		return cfg->sep2.workers;
	if (strcmp(n, "vtn") == 0)
		return cfg->vtn.workers;
	if (strcmp(n, "dispatch") == 0)
		return cfg->dispatch_workers;
	if (strcmp(n, "notify") == 0)
		return cfg->notify_workers;
	return 0;
}

static uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t) ts.tv_sec * 1000 + (uint64_t) ts.tv_nsec / 1000000;
}

static void
on_signal(int sig)
{
	switch (sig)
	{
		case SIGCHLD:
			got_sigchld = 1;
			break;
		case SIGHUP:
			got_sighup = 1;
			break;
		default:
			got_sigterm = 1;
			break;
	}
}

/* ---- sockets ---- */

static int
bind_listener(const config_listener *l, const char *name, derms_err *err)
{
	struct sockaddr_storage ss;
	socklen_t	sslen;
	int			fd;
	int			one = 1;

	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, l->address, &((struct sockaddr_in *) &ss)->sin_addr) == 1)
	{
		((struct sockaddr_in *) &ss)->sin_family = AF_INET;
		((struct sockaddr_in *) &ss)->sin_port = htons((uint16_t) l->port);
		sslen = sizeof(struct sockaddr_in);
	}
	else if (inet_pton(AF_INET6, l->address, &((struct sockaddr_in6 *) &ss)->sin6_addr) == 1)
	{
		((struct sockaddr_in6 *) &ss)->sin6_family = AF_INET6;
		((struct sockaddr_in6 *) &ss)->sin6_port = htons((uint16_t) l->port);
		sslen = sizeof(struct sockaddr_in6);
	}
	else
	{
		derms_err_set(err, DERMS_EINVAL, "invalid %s address \"%s\"", name, l->address);
		return -1;
	}
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
	{
		derms_err_set(err, DERMS_EIO, "could not create %s socket: %s", name, strerror(errno));
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (ss.ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *) &ss, sslen) != 0 || listen(fd, 1024) != 0)
	{
		derms_err_set(err, DERMS_EIO, "could not listen on %s:%d for %s: %s",
					  l->address, l->port, name, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

derms_rc
supervisor_check_tls(const derms_config *cfg, derms_err *err)
{
	const config_listener *ls[2] = {&cfg->sep2, &cfg->vtn};
	const char *names[2] = {"sep2", "vtn"};

	for (int i = 0; i < 2; i++)
	{
		gnutls_certificate_credentials_t cred;
		int			rc;

		if (i == 0 && !cfg->sep2_tls)
			continue;
		if (gnutls_certificate_allocate_credentials(&cred) < 0)
			return derms_err_set(err, DERMS_ENOMEM, "out of memory");
		rc = gnutls_certificate_set_x509_key_file(cred, ls[i]->cert_file,
												  ls[i]->key_file, GNUTLS_X509_FMT_PEM);
		if (rc < 0)
		{
			gnutls_certificate_free_credentials(cred);
			return derms_err_set(err, DERMS_ETLS,
								 "%s certificate \"%s\" or key \"%s\" is not usable: %s",
								 names[i], ls[i]->cert_file, ls[i]->key_file,
								 gnutls_strerror(rc));
		}
		if (ls[i]->ca_file && ls[i]->ca_file[0])
		{
			rc = gnutls_certificate_set_x509_trust_file(cred, ls[i]->ca_file,
														GNUTLS_X509_FMT_PEM);
			if (rc <= 0)
			{
				gnutls_certificate_free_credentials(cred);
				return derms_err_set(err, DERMS_ETLS,
									 "%s trust file \"%s\" holds no usable certificate%s%s",
									 names[i], ls[i]->ca_file, rc < 0 ? ": " : "",
									 rc < 0 ? gnutls_strerror(rc) : "");
			}
		}
		gnutls_certificate_free_credentials(cred);
		/* the priority string must parse, or every handshake would fail */
		{
			gnutls_priority_t prio;
			const char *errpos = NULL;

			rc = gnutls_priority_init(&prio, ls[i]->tls_priorities, &errpos);
			if (rc < 0)
				return derms_err_set(err, DERMS_ETLS,
									 "%s.tls_priorities is invalid near \"%s\"",
									 names[i], errpos ? errpos : "");
			gnutls_priority_deinit(prio);
		}
	}
	return DERMS_OK;
}

/* ---- children ---- */

static void
log_child_exit(const slot *s, int status)
{
	const char *role = roles[s->role].name;

	if (WIFEXITED(status))
	{
		int			code = WEXITSTATUS(status);

		log_msg(code == 0 ? LOG_INFO : LOG_WARNING,
				"%s worker (pid %d) exited with exit code %d", role, (int) s->pid, code);
	}
	else if (WIFSIGNALED(status))
		log_msg(LOG_WARNING, "%s worker (pid %d) was terminated by signal %d: %s",
				role, (int) s->pid, WTERMSIG(status), strsignal(WTERMSIG(status)));
	else
		log_msg(LOG_WARNING, "%s worker (pid %d) exited with status %d", role,
				(int) s->pid, status);
}

static void
child_setup_signals(void)
{
	struct sigaction sa;
	sigset_t	all;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	sigaction(SIGCHLD, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigemptyset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
}

static void
start_slot(derms_config *cfg, int i)
{
	slot	   *s = &slots[i];
	const role_def *r = &roles[s->role];
	pid_t		pid;

	pid = fork();
	if (pid < 0)
	{
		log_msg(LOG_ERR, "could not fork %s worker: %m", r->name);
		s->state = SLOT_BACKOFF;
		s->restart_at = now_ms() + BACKOFF_MAX_MS / 10;
		return;
	}
	if (pid == 0)
	{
		worker_env env;
		int			code;

		/* child */
		child_setup_signals();
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (getppid() != supervisor_pid)
			_exit(DERMS_EXIT_FAILURE);
		log_init(r->name);
		{
			char		comm[16];

			/* "dermsd-sep2" in ps and /proc/PID/comm */
			snprintf(comm, sizeof(comm), "dermsd-%s", r->name);
			prctl(PR_SET_NAME, comm, 0, 0, 0);
		}
		metrics_my_slot = i;
		if (metrics)
		{
			metrics->slots[i].ready = 0;
			metrics->slots[i].db_ok = 0;
		}
		memset(&env, 0, sizeof(env));
		env.role = r->name;
		env.slot = i;
		/* the child's own copy: a reload frees the config it came with */
		env.config_path = strdup(cfg->path);
		for (int l = 0; l < HTTP_NLISTENERS; l++)
		{
			if (l == r->listener)
				env.listen_fd[l] = listen_fds[l];
			else
			{
				if (listen_fds[l] >= 0)
					close(listen_fds[l]);
				env.listen_fd[l] = -1;
			}
		}
		code = r->main(cfg, &env);
		config_free(cfg);		/* a role may have taken it over: then empty */
		exit(code);
	}

	s->pid = pid;
	s->state = SLOT_RUNNING;
	s->started_at = now_ms();
	if (metrics)
	{
		metrics->slots[i].pid = pid;
		metrics->slots[i].role = s->role;
	}
	log_msg(LOG_DEBUG, "started %s worker (pid %d)", r->name, (int) pid);
}

static int
slot_by_pid(pid_t pid)
{
	for (int i = 0; i < nslots; i++)
		if (slots[i].pid == pid)
			return i;
	return -1;
}

static bool
startup_done(void)
{
	for (int i = 0; i < nslots; i++)
		if ((roles[slots[i].role].flags & ROLE_ONESHOT) && slots[i].state != SLOT_DONE)
			return false;
	return true;
}

static void
reap_children(derms_config *cfg, bool stopping)
{
	pid_t		pid;
	int			status;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
	{
		int			i = slot_by_pid(pid);
		slot	   *s;
		uint64_t	now = now_ms();

		if (i < 0)
			continue;
		s = &slots[i];
		log_child_exit(s, status);
		s->pid = 0;
		if (metrics)
		{
			metrics->slots[i].pid = 0;
			metrics->slots[i].ready = 0;
			metrics->slots[i].db_ok = 0;
		}
		if (stopping)
		{
			s->state = SLOT_DONE;
			continue;
		}
		if ((roles[s->role].flags & ROLE_ONESHOT) && WIFEXITED(status) &&
			WEXITSTATUS(status) == 0)
		{
			s->state = SLOT_DONE;
			continue;
		}
		if (WIFEXITED(status) && WEXITSTATUS(status) == DERMS_EXIT_CONFIG)
		{
			log_msg(LOG_ERR, "%s worker stopped on a configuration error; fix the configuration and send SIGHUP",
					roles[s->role].name);
			s->state = SLOT_HELD;
			continue;
		}
		if (now - s->started_at >= HEALTHY_AFTER_MS)
			s->failures = 0;
		{
			uint64_t	delay = BACKOFF_MIN_MS;

			for (int f = 0; f < s->failures && delay < BACKOFF_MAX_MS; f++)
				delay *= 2;
			if (delay > BACKOFF_MAX_MS)
				delay = BACKOFF_MAX_MS;
			s->failures++;
			s->state = SLOT_BACKOFF;
			s->restart_at = now + delay;
			METRICS_ADD(worker_restarts[s->role], 1);
			log_msg(LOG_INFO, "restarting %s worker in %llu ms", roles[s->role].name,
					(unsigned long long) delay);
		}
	}
	(void) cfg;
}

static void
signal_children(int sig)
{
	for (int i = 0; i < nslots; i++)
		if (slots[i].pid > 0)
			kill(slots[i].pid, sig);
}

static int
children_alive(void)
{
	int			n = 0;

	for (int i = 0; i < nslots; i++)
		if (slots[i].pid > 0)
			n++;
	return n;
}

static bool
all_ready(void)
{
	if (metrics == NULL)
		return false;
	for (int i = 0; i < nslots; i++)
	{
		if (roles[slots[i].role].flags & ROLE_ONESHOT)
		{
			if (slots[i].state != SLOT_DONE)
				return false;
			continue;
		}
		if (slots[i].state != SLOT_RUNNING || !metrics->slots[i].ready)
			return false;
	}
	return true;
}

static void
reload(derms_config *cfg)
{
	derms_config next;
	derms_err	err;
	char		changed[512];

	sd_notify(0, "RELOADING=1");
	log_msg(LOG_INFO, "received SIGHUP, reloading configuration \"%s\"", cfg->path);
	if (config_load(cfg->path, &next, &err) != DERMS_OK)
	{
		METRICS_ADD(reload_failures, 1);	/* before the log line tests wait for */
		log_msg(LOG_ERR, "configuration not reloaded, keeping the current one: %s", err.msg);
		sd_notify(0, "READY=1");
		return;
	}
	if (supervisor_check_tls(&next, &err) != DERMS_OK)
	{
		METRICS_ADD(reload_failures, 1);
		log_msg(LOG_ERR, "configuration not reloaded, keeping the current one: %s", err.msg);
		config_free(&next);
		sd_notify(0, "READY=1");
		return;
	}
	config_restart_changes(cfg, &next, changed, sizeof(changed));
	if (changed[0])
		log_msg(LOG_WARNING, "settings that need a restart changed and keep their old values until then: %s",
				changed);
	if (config_keep_restart(&next, cfg, &err) != DERMS_OK)
	{
		METRICS_ADD(reload_failures, 1);
		log_msg(LOG_ERR, "configuration not reloaded, keeping the current one: %s", err.msg);
		config_free(&next);
		sd_notify(0, "READY=1");
		return;
	}
	config_free(cfg);
	*cfg = next;
	log_set_level(cfg->log_level);
	METRICS_ADD(reloads, 1);

	/* workers held on a config error get another chance */
	for (int i = 0; i < nslots; i++)
		if (slots[i].state == SLOT_HELD)
		{
			slots[i].state = SLOT_BACKOFF;
			slots[i].restart_at = 0;
			slots[i].failures = 0;
		}
	signal_children(SIGHUP);
	log_msg(LOG_INFO, "configuration reloaded");
	sd_notify(0, "READY=1");
}

int
supervisor_run(derms_config *cfg)
{
	struct sigaction sa;
	sigset_t	block, oldmask;
	derms_err	err;
	const config_listener *ls[HTTP_NLISTENERS] = {&cfg->sep2, &cfg->vtn, &cfg->admin};
	static const char *const lnames[HTTP_NLISTENERS] = {"sep2", "vtn", "admin"};
	uint64_t	watchdog_usec = 0;
	uint64_t	next_watchdog = 0;
	uint64_t	stop_deadline = 0;
	bool		stopping = false;
	bool		ready_sent = false;
	bool		killed = false;

	supervisor_pid = getpid();
	log_init("supervisor");
	log_set_level(cfg->log_level);
	if (metrics_init(&err) != DERMS_OK || http_tls_tickets_init(&err) != DERMS_OK)
	{
		log_msg(LOG_ERR, "%s", err.msg);
		return DERMS_EXIT_FAILURE;
	}

	for (int l = 0; l < HTTP_NLISTENERS; l++)
	{
		listen_fds[l] = bind_listener(ls[l], lnames[l], &err);
		if (listen_fds[l] < 0)
		{
			log_msg(LOG_ERR, "%s", err.msg);
			for (int k = 0; k < l; k++)
				close(listen_fds[k]);
			return DERMS_EXIT_FAILURE;
		}
		log_msg(LOG_INFO, "%s listening on %s:%d (%s)", lnames[l], ls[l]->address,
				ls[l]->port,
				l == HTTP_ADMIN ? "http" :
				(l == HTTP_SEP2 && !cfg->sep2_tls) ? "http behind trusted proxy" : "https");
	}

	/* signals: handlers set flags; the loop keeps them blocked */
	sigemptyset(&block);
	sigaddset(&block, SIGCHLD);
	sigaddset(&block, SIGHUP);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigprocmask(SIG_BLOCK, &block, &oldmask);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGCHLD, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	/* the slot table, in role order */
	nslots = 0;
	for (int r = 0; r < NROLES; r++)
	{
		int			count = supervisor_role_count(cfg, r);

		for (int k = 0; k < count && nslots < METRICS_MAX_SLOTS; k++)
		{
			slots[nslots].role = r;
			slots[nslots].state = (roles[r].flags & ROLE_EARLY) || !cfg->db_migrate
				? SLOT_BACKOFF : SLOT_WAITING;
			slots[nslots].restart_at = 0;
			if (metrics)
				metrics->slots[nslots].role = r;
			nslots++;
		}
	}

	if (sd_watchdog_enabled(0, &watchdog_usec) > 0 && watchdog_usec > 0)
		next_watchdog = 0;
	else
		watchdog_usec = 0;

	for (;;)
	{
		uint64_t	now = now_ms();
		uint64_t	wake = now + 1000;
		struct timespec ts;

		if (got_sigchld)
		{
			got_sigchld = 0;
			reap_children(cfg, stopping);
		}
		if (got_sigterm && !stopping)
		{
			got_sigterm = 0;
			stopping = true;
			sd_notify(0, "STOPPING=1");
			log_msg(LOG_INFO, "received shutdown request, stopping workers");
			stop_deadline = now + (uint64_t) cfg->shutdown_timeout_s * 1000;
			for (int i = 0; i < nslots; i++)
				if (slots[i].pid <= 0)
					slots[i].state = SLOT_DONE;
			signal_children(SIGTERM);
		}
		if (stopping)
		{
			if (children_alive() == 0)
				break;
			if (!killed && now >= stop_deadline)
			{
				log_msg(LOG_WARNING, "%d worker(s) still running after %d s, killing them",
						children_alive(), cfg->shutdown_timeout_s);
				signal_children(SIGKILL);
				killed = true;
			}
			if (stop_deadline > now && stop_deadline < wake)
				wake = stop_deadline;
		}
		else
		{
			if (got_sighup)
			{
				got_sighup = 0;
				reload(cfg);
			}
			for (int i = 0; i < nslots; i++)
			{
				slot	   *s = &slots[i];

				if (s->state == SLOT_WAITING && startup_done())
					s->state = SLOT_BACKOFF;
				if (s->state == SLOT_BACKOFF)
				{
					if (now >= s->restart_at)
						start_slot(cfg, i);
					else if (s->restart_at < wake)
						wake = s->restart_at;
				}
			}
			if (!ready_sent && all_ready())
			{
				sd_notify(0, "READY=1");
				log_msg(LOG_INFO, "ready");
				ready_sent = true;
			}
			else if (!ready_sent && wake > now + 50)
				wake = now + 50;	/* poll readiness while starting */
		}
		if (watchdog_usec)
		{
			if (now >= next_watchdog)
			{
				sd_notify(0, "WATCHDOG=1");
				next_watchdog = now + watchdog_usec / 2000;
			}
			if (next_watchdog < wake)
				wake = next_watchdog;
		}

		if (got_sigchld || got_sighup || (got_sigterm && !stopping))
			continue;
		now = now_ms();
		if (wake <= now)
			continue;
		ts.tv_sec = (time_t) ((wake - now) / 1000);
		ts.tv_nsec = (long) ((wake - now) % 1000) * 1000000L;
		ppoll(NULL, 0, &ts, &oldmask);
	}

	for (int l = 0; l < HTTP_NLISTENERS; l++)
		if (listen_fds[l] >= 0)
			close(listen_fds[l]);
	log_msg(LOG_INFO, "all workers stopped, exiting");
	return DERMS_EXIT_OK;
}
