/* SPDX-License-Identifier: Apache-2.0 */
/*
 * rampart-witness: cosigns a transparency log's checkpoints only if the log
 * stayed append-only (C2SP tlog-witness v1.0.0, tlog-cosignature v1.0.1).
 * Run by a party independent of the Rampart server; docs/witness.md.
 */
#include <errno.h>
#include <event2/event.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <syslog.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "checkpoint.h"
#include "cmd.h"
#include "rp_err.h"
#include "sdnotify.h"
#include "util.h"
#include "witness.h"

/* ---- options ---- */

struct opts {
	const char *data, *name, *vkey, *origin, *listen, *metrics;
	bool notes, log_debug;
	struct rp_httpd_limits lim; /* serve's connection limits */
};

/* serve's connection limits: getopt codes past any letter, one per rp_httpd_limit. */
#define OPT_LIMIT 0x100

/*
 * Parses the options of command cmd; allowed lists the short letters it
 * takes. 0 to go on, 1 after printing usage (--help), -1 after saying what
 * was wrong.
 */
static int parse_opts(int argc, char *argv[], const char *cmd, const char *allowed,
		      const char *usage, struct opts *o)
{
	static const struct option all[] = {
		{"data", required_argument, NULL, 'd'},
		{"name", required_argument, NULL, 'n'},
		{"vkey", required_argument, NULL, 'k'},
		{"origin", required_argument, NULL, 'o'},
		{"listen", required_argument, NULL, 'l'},
		{"notes", no_argument, NULL, 'N'},
		{"metrics-listen", required_argument, NULL, 'M'},
		{"log-level", required_argument, NULL, 'L'},
		{"max-connections", required_argument, NULL, OPT_LIMIT + RP_HTTPD_MAX_CONNS},
		{"header-timeout", required_argument, NULL, OPT_LIMIT + RP_HTTPD_HEADERS_S},
		{"body-timeout", required_argument, NULL, OPT_LIMIT + RP_HTTPD_BODY_S},
		{"idle-timeout", required_argument, NULL, OPT_LIMIT + RP_HTTPD_IDLE_S},
		{"write-timeout", required_argument, NULL, OPT_LIMIT + RP_HTTPD_WRITE_S},
		{"first-request-timeout", required_argument, NULL, OPT_LIMIT + RP_HTTPD_FIRST_S},
		{"max-connections-per-address", required_argument, NULL,
		 OPT_LIMIT + RP_HTTPD_PER_ADDR},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	struct rp_diag d = {{0}};
	int c, idx;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", all, &idx)) != -1) {
		if (c == 'h') {
			fputs(usage, stdout);
			return 1;
		}
		if (c == '?' || c == ':') {
			fprintf(stderr, "rampart-witness %s: %s `%s'\n%s", cmd,
				c == ':' ? "missing value for option" : "unknown option",
				argv[optind - 1], usage);
			return -1;
		}
		if (c >= OPT_LIMIT) { /* the limits belong to serve, which allows --listen */
			if (!strchr(allowed, 'l')) {
				fprintf(stderr,
					"rampart-witness %s: option --%s does not apply\n%s", cmd,
					all[idx].name, usage);
				return -1;
			}
			if (rp_httpd_limit_set(&o->lim, (enum rp_httpd_limit)(c - OPT_LIMIT),
					       optarg, &d) < 0) {
				fprintf(stderr, "rampart-witness %s: --%s %s\n", cmd, all[idx].name,
					d.msg);
				return -1;
			}
			continue;
		}
		if (!strchr(allowed, c)) {
			fprintf(stderr, "rampart-witness %s: option --%s does not apply\n%s", cmd,
				all[idx].name, usage);
			return -1;
		}
		switch (c) {
		case 'd': o->data = optarg; break;
		case 'n': o->name = optarg; break;
		case 'k': o->vkey = optarg; break;
		case 'o': o->origin = optarg; break;
		case 'l': o->listen = optarg; break;
		case 'N': o->notes = true; break;
		case 'M': o->metrics = optarg; break;
		case 'L':
			if (strcmp(optarg, "info") && strcmp(optarg, "debug")) {
				fprintf(stderr,
					"rampart-witness %s: --log-level `%s' is not info or debug\n",
					cmd, optarg);
				return -1;
			}
			o->log_debug = !strcmp(optarg, "debug");
			break;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "rampart-witness %s: unexpected argument `%s'\n%s", cmd,
			argv[optind], usage);
		return -1;
	}
	if (!o->data) {
		fprintf(stderr, "rampart-witness %s: --data DIR is required\n%s", cmd, usage);
		return -1;
	}
	return 0;
}

static int data_path(char *out, size_t n, const char *dir, const char *name)
{
	int k = snprintf(out, n, "%s/%s", dir, name);

	if (k < 0 || (size_t)k >= n) {
		fprintf(stderr, "rampart-witness: path %s/%s is too long\n", dir, name);
		return RP_E_TOOBIG;
	}
	return 0;
}

/* Opens DIR's existing database (migrating it if this binary is newer). */
static int open_db(const char *dir, struct wdb *db)
{
	char p[PATH_MAX];
	struct stat st;

	if (data_path(p, sizeof(p), dir, WITNESS_DB) < 0)
		return RP_E_TOOBIG;
	if (stat(p, &st) != 0) {
		fprintf(stderr, "rampart-witness: %s: %s (run `rampart-witness init' first)\n", p,
			strerror(errno));
		return RP_E_NOTFOUND;
	}
	return wdb_open(db, p, false);
}

/* ---- init ---- */

static int init_main(int argc, char *argv[])
{
	static const char usage[] =
		"Usage: rampart-witness init --data DIR --name NAME\n\n"
		"Creates DIR (0700) holding witness.db and witness.key (0600, the Ed25519\n"
		"cosignature key), and prints the witness's cosignature verifier key\n"
		"(NAME+<id>+<key>, type 0x04) for the logs' root policies. NAME should be a\n"
		"schema-less URL naming the witness, e.g. witness.example.com/w1.\n"
		"Refuses a DIR that already holds a witness.\n";
	struct opts o = {0};
	char kp[PATH_MAX], dp[PATH_MAX];
	struct rp_skey k;
	struct rp_vkey vk;
	struct wdb db = {0};
	char *stext = NULL, *vtext = NULL;
	int r, rc = 1;

	if ((r = parse_opts(argc, argv, "init", "dn", usage, &o)) != 0)
		return r > 0 ? 0 : 2;
	if (!o.name) {
		fprintf(stderr, "rampart-witness init: --name NAME is required\n%s", usage);
		return 2;
	}
	if (!rp_key_name_valid(o.name, strlen(o.name))) {
		fprintf(stderr,
			"rampart-witness init: --name `%s' is not a valid key name "
			"(printable, no spaces, no `+')\n",
			o.name);
		return 2;
	}
	if (data_path(kp, sizeof(kp), o.data, WITNESS_KEY) < 0 ||
	    data_path(dp, sizeof(dp), o.data, WITNESS_DB) < 0)
		return 1;
	if (mkdir(o.data, 0700) != 0 && errno != EEXIST) {
		fprintf(stderr, "rampart-witness: creating %s: %s\n", o.data, strerror(errno));
		return 1;
	}
	/*
	 * An existing DIR is fine (a service manager may make it); a witness in
	 * it is not. This check only words the refusal early: what guarantees
	 * it is the key being created with rp_write_file_new, before the
	 * database, so of two inits at once the second fails there.
	 */
	if (access(kp, F_OK) == 0 || access(dp, F_OK) == 0) {
		fprintf(stderr,
			"rampart-witness init: %s already holds a witness; refusing to "
			"overwrite it (a witness that forgets what it cosigned can be made "
			"to cosign a fork)\n",
			o.data);
		return 1;
	}
	if ((r = rp_skey_generate(o.name, &k)) < 0) {
		fprintf(stderr, "rampart-witness: generating a key: %s\n", rp_strerror(r));
		return 1;
	}
	rp_cosig_vkey(&k, &vk);
	if (!(vtext = rp_vkey_format(&vk)) || !(stext = rp_skey_format(&k))) {
		fprintf(stderr, "%srampart-witness: formatting the key: out of memory\n",
			rp_log_prio(LOG_ERR));
		goto out;
	}
	size_t slen = strlen(stext);
	char *line = realloc(stext, slen + 2);
	if (!line) {
		fprintf(stderr, "%srampart-witness: formatting the key: out of memory\n",
			rp_log_prio(LOG_ERR));
		goto out;
	}
	stext = line;
	memcpy(stext + slen, "\n", 2);
	if ((r = rp_write_file_new(kp, stext, slen + 1, 0600)) < 0) {
		fprintf(stderr, "rampart-witness: writing %s: %s\n", kp,
			r == RP_E_EXISTS ? "already exists" : strerror(errno));
		goto out;
	}
	if (wdb_open(&db, dp, true) < 0)
		goto out;
	if ((r = wdb_witness_set(&db, o.name, vtext)) < 0) {
		fprintf(stderr, "rampart-witness: recording the witness in %s: %s\n", dp,
			rp_strerror(r));
		goto out;
	}
	printf("%s\n", vtext);
	fprintf(stderr,
		"rampart-witness: initialised %s; give the verifier key above to the "
		"log's administrators, then `rampart-witness add-log' each log\n",
		o.data);
	rc = 0;
out:
	wdb_close(&db);
	if (stext)
		sodium_memzero(stext, strlen(stext));
	free(stext);
	free(vtext);
	rp_skey_wipe(&k);
	return rc;
}

/* ---- the key ---- */

/*
 * Loads witness.key, refusing one others can read, a link, and one that is
 * not the key this database was made with. The mode, owner and type are
 * checked on the opened file (RP_FILE_PRIVATE), so they are the checks of
 * the bytes that are read: a file swapped in after a check on the path and
 * before the open would otherwise be used unchecked.
 */
static int load_key(const char *dir, struct wdb *db, struct rp_skey *ret)
{
	char p[PATH_MAX], *s = NULL, *want = NULL, *have = NULL;
	struct rp_diag d = {{0}};
	struct rp_skey k;
	struct rp_vkey vk;
	size_t n = 0;
	int r;

	if (data_path(p, sizeof(p), dir, WITNESS_KEY) < 0)
		return RP_E_TOOBIG;
	if ((r = rp_read_file_flags(p, RP_KEYTEXT_MAX, RP_FILE_PRIVATE, &s, &n, &d)) < 0) {
		fprintf(stderr, "rampart-witness: loading the key: %s\n", d.msg);
		return r;
	}
	while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == '\r'))
		n--;
	r = rp_skey_parse(s, n, &k, &d);
	sodium_memzero(s, n);
	free(s);
	if (r < 0) {
		fprintf(stderr, "rampart-witness: %s: %s\n", p, *d.msg ? d.msg : rp_strerror(r));
		return r;
	}
	rp_cosig_vkey(&k, &vk);
	if ((r = wdb_witness_get(db, &want)) < 0 || !(have = rp_vkey_format(&vk))) {
		fprintf(stderr, "rampart-witness: reading the witness's identity: %s\n",
			rp_strerror(r < 0 ? r : RP_E_NOMEM));
		r = r < 0 ? r : RP_E_NOMEM;
	} else if (strcmp(want, have) != 0) {
		fprintf(stderr,
			"rampart-witness: %s is the key %s, but this database belongs to "
			"%s\n",
			p, have, want);
		r = RP_E_KEY;
	}
	free(want);
	free(have);
	if (r < 0) {
		rp_skey_wipe(&k);
		return r;
	}
	*ret = k;
	rp_skey_wipe(&k);
	return 0;
}

static int vkey_main(int argc, char *argv[])
{
	static const char usage[] = "Usage: rampart-witness vkey --data DIR\n\n"
				    "Prints the witness's cosignature verifier key (type 0x04).\n";
	struct opts o = {0};
	struct wdb db = {0};
	char *v = NULL;
	int r;

	if ((r = parse_opts(argc, argv, "vkey", "d", usage, &o)) != 0)
		return r > 0 ? 0 : 2;
	if (open_db(o.data, &db) < 0)
		return 1;
	r = wdb_witness_get(&db, &v);
	wdb_close(&db);
	if (r < 0) {
		fprintf(stderr, "rampart-witness: reading the witness's key: %s\n", rp_strerror(r));
		return 1;
	}
	printf("%s\n", v);
	free(v);
	return 0;
}

/* ---- logs ---- */

static int add_log_main(int argc, char *argv[])
{
	static const char usage[] =
		"Usage: rampart-witness add-log --data DIR --vkey LOGVKEY\n\n"
		"Trusts LOGVKEY (name+hexid+base64, Ed25519 type 0x01) to sign checkpoints of\n"
		"the log whose origin is the key's name. A log may have several keys (while\n"
		"it rotates); a log added again after remove-log resumes from the last\n"
		"checkpoint this witness cosigned for it.\n";
	struct opts o = {0};
	struct rp_diag d = {{0}};
	struct rp_vkey k;
	struct wdb db = {0};
	char *text = NULL;
	int r;

	if ((r = parse_opts(argc, argv, "add-log", "dk", usage, &o)) != 0)
		return r > 0 ? 0 : 2;
	if (!o.vkey) {
		fprintf(stderr, "rampart-witness add-log: --vkey LOGVKEY is required\n%s", usage);
		return 2;
	}
	if ((r = rp_vkey_parse(o.vkey, strlen(o.vkey), &k, &d)) < 0) {
		fprintf(stderr, "rampart-witness add-log: --vkey `%s' is not a verifier key: %s\n",
			o.vkey, *d.msg ? d.msg : rp_strerror(r));
		return 2;
	}
	if (k.type != RP_KEY_ED25519) {
		fprintf(stderr,
			"rampart-witness add-log: --vkey has key type 0x%02x; a log signs "
			"checkpoints with an Ed25519 key (type 0x01)\n",
			k.type);
		return 2;
	}
	if (open_db(o.data, &db) < 0)
		return 1;
	/* Stored in canonical form, so that remove-log --vkey finds it. */
	if (!(text = rp_vkey_format(&k))) {
		r = RP_E_NOMEM;
	} else if ((r = wdb_log_add(&db, &k, text)) == RP_E_EXISTS) {
		fprintf(stderr, "rampart-witness add-log: %s is already trusted\n", text);
	} else if (r == RP_E_TOOBIG) {
		fprintf(stderr,
			"rampart-witness add-log: log %s already has %d keys; remove one "
			"first\n",
			k.name, RP_WITNESS_LOG_KEYS_MAX);
	} else if (r < 0) {
		fprintf(stderr, "rampart-witness add-log: %s\n", rp_strerror(r));
	} else {
		fprintf(stderr, "rampart-witness: trusting %s for origin %s\n", text, k.name);
	}
	free(text);
	wdb_close(&db);
	return r < 0 ? 1 : 0;
}

static int remove_log_main(int argc, char *argv[])
{
	static const char usage[] =
		"Usage: rampart-witness remove-log --data DIR (--origin ORIGIN | --vkey LOGVKEY)\n\n"
		"Stops trusting every key of ORIGIN, or the one key LOGVKEY. Requests for an\n"
		"origin without keys get 404. The log's latest cosigned checkpoint and its\n"
		"history are kept: adding the log again resumes from there.\n";
	struct opts o = {0};
	struct rp_diag d = {{0}};
	struct rp_vkey k;
	struct wdb db = {0};
	char *text = NULL;
	int r, n = 0;

	if ((r = parse_opts(argc, argv, "remove-log", "dko", usage, &o)) != 0)
		return r > 0 ? 0 : 2;
	if (!o.origin == !o.vkey) {
		fprintf(stderr,
			"rampart-witness remove-log: give exactly one of --origin, --vkey\n%s",
			usage);
		return 2;
	}
	if (o.vkey) {
		if ((r = rp_vkey_parse(o.vkey, strlen(o.vkey), &k, &d)) < 0) {
			fprintf(stderr,
				"rampart-witness remove-log: --vkey `%s' is not a verifier "
				"key: %s\n",
				o.vkey, *d.msg ? d.msg : rp_strerror(r));
			return 2;
		}
		if (!(text = rp_vkey_format(&k)))
			return 1;
	}
	if (open_db(o.data, &db) < 0) {
		free(text);
		return 1;
	}
	r = wdb_log_remove(&db, o.vkey ? k.name : o.origin, text, &n);
	wdb_close(&db);
	if (r == 0 && n == 0) {
		fprintf(stderr, "rampart-witness remove-log: %s `%s' is not trusted\n",
			o.vkey ? "key" : "origin", o.vkey ? text : o.origin);
		r = RP_E_NOTFOUND;
	} else if (r < 0) {
		fprintf(stderr, "rampart-witness remove-log: %s\n", rp_strerror(r));
	} else {
		fprintf(stderr, "rampart-witness: removed %d key%s of %s\n", n, n == 1 ? "" : "s",
			o.vkey ? k.name : o.origin);
	}
	free(text);
	return r < 0 ? 1 : 0;
}

static int logs_main(int argc, char *argv[])
{
	static const char usage[] = "Usage: rampart-witness logs --data DIR\n\n"
				    "Lists the trusted logs, one line per key:\n"
				    "  <origin> <log vkey> <latest cosigned size>\n";
	struct opts o = {0};
	struct wdb db = {0};
	int r;

	if ((r = parse_opts(argc, argv, "logs", "d", usage, &o)) != 0)
		return r > 0 ? 0 : 2;
	if (open_db(o.data, &db) < 0)
		return 1;
	r = wdb_logs_print(&db, stdout);
	wdb_close(&db);
	return r < 0 ? 1 : 0;
}

static int list_main(int argc, char *argv[])
{
	static const char usage[] =
		"Usage: rampart-witness list --data DIR [--origin ORIGIN] [--notes]\n\n"
		"Prints every checkpoint this witness cosigned, oldest first:\n"
		"  <origin> <size> <base64 root> <first cosigned, UTC>\n"
		"[cosigned N times, last <time>]. --notes adds each checkpoint note as\n"
		"received, its lines indented by a tab.\n";
	struct opts o = {0};
	struct wdb db = {0};
	int r;

	if ((r = parse_opts(argc, argv, "list", "doN", usage, &o)) != 0)
		return r > 0 ? 0 : 2;
	if (open_db(o.data, &db) < 0)
		return 1;
	r = wdb_history_print(&db, o.origin, o.notes, stdout);
	wdb_close(&db);
	return r < 0 ? 1 : 0;
}

static int evidence_main(int argc, char *argv[])
{
	static const char usage[] =
		"Usage: rampart-witness evidence --data DIR\n\n"
		"Prints the validly signed checkpoints this witness refused as a fork of\n"
		"what it had cosigned (409: same size, different root), each followed by\n"
		"the whole request, indented by a tab. Each is proof that the log forked.\n"
		"A failed consistency proof (422) is the client's, not the log's, and is\n"
		"not kept (rows of status 422 come from older witnesses); see\n"
		"docs/witness.md.\n";
	struct opts o = {0};
	struct wdb db = {0};
	int r;

	if ((r = parse_opts(argc, argv, "evidence", "d", usage, &o)) != 0)
		return r > 0 ? 0 : 2;
	if (open_db(o.data, &db) < 0)
		return 1;
	r = wdb_evidence_print(&db, stdout);
	wdb_close(&db);
	return r < 0 ? 1 : 0;
}

/* ---- serve ---- */

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct witness *w = arg;
	struct timeval flush = {0, 200 * 1000};

	(void)what;
	if (w->stopping)
		return;
	w->stopping = true;
	rp_notify("STOPPING=1");
	fprintf(stderr, "rampart-witness: %s: stopping\n", sig == SIGTERM ? "SIGTERM" : "SIGINT");
	/*
	 * No new connections. Every request is answered inside its callback,
	 * so nothing is half done: the delay only lets replies drain.
	 */
	rp_httpd_stop_accepting(&w->httpd);
	rp_metrics_stop_accepting(w->metrics);
	event_base_loopexit(w->base, &flush);
}

static int serve_main(int argc, char *argv[])
{
	static const char usage[] =
		"Usage: rampart-witness serve --data DIR [--listen ADDR:PORT] [--max-connections N]\n"
		"                             [--header-timeout S] [--body-timeout S]\n"
		"                             [--idle-timeout S] [--write-timeout S]\n"
		"                             [--max-connections-per-address N]\n"
		"                             [--first-request-timeout S]\n"
		"                             [--metrics-listen ADDR:PORT] [--log-level info|debug]\n\n"
		"Serves C2SP tlog-witness `POST /add-checkpoint' over plain HTTP on one\n"
		"event-driven thread; put an HTTPS reverse proxy in front of it for anything\n"
		"but 127.0.0.1 (docs/witness.md). A cosignature is sent only after the\n"
		"checkpoint it commits to is on disk. SIGTERM or SIGINT stops cleanly.\n\n"
		"  --listen ADDR:PORT   default 127.0.0.1:8088; [::1]:8088 for IPv6\n"
		"  --metrics-listen ADDR:PORT  serve Prometheus text on http://ADDR:PORT/metrics\n"
		"                       (plain HTTP, off by default; it names the logs this\n"
		"                       witness serves: keep it on loopback or a monitoring\n"
		"                       network; docs/monitoring.md)\n"
		"  --log-level L        info (default): one line per event and per refused\n"
		"                       request, none per cosignature; debug: those too\n" RP_HTTPD_USAGE(
			RP_WITNESS_CONNS_DEFAULT);
	struct opts o = {.listen = "127.0.0.1:8088"};
	struct witness w = {0};
	struct event *sigterm = NULL, *sigint = NULL;
	struct rp_diag d = {{0}};
	char host[256], *vk = NULL;
	uint16_t port;
	int r, rc = 1;

	rp_httpd_limits_init(&o.lim, RP_WITNESS_CONNS_DEFAULT);
	if ((r = parse_opts(argc, argv, "serve", "dlML", usage, &o)) != 0)
		return r > 0 ? 0 : 2;
	if (rp_httpd_parse_listen(o.listen, host, sizeof(host), &port) < 0) {
		fprintf(stderr, "rampart-witness serve: --listen `%s' is not ADDR:PORT\n",
			o.listen);
		return 2;
	}
	if (o.metrics && rp_httpd_parse_listen(o.metrics, host, sizeof(host), &port) < 0) {
		fprintf(stderr, "rampart-witness serve: --metrics-listen `%s' is not ADDR:PORT\n",
			o.metrics);
		return 2;
	}
	w.log_debug = o.log_debug;
	if (rp_httpd_fit_descriptors(&o.lim, &d) > 0)
		fprintf(stderr, "rampart-witness: --max-connections: %s\n", d.msg);
	signal(SIGPIPE, SIG_IGN);
	if (open_db(o.data, &w.db) < 0 || load_key(o.data, &w.db, &w.key) < 0 ||
	    wdb_witness_get(&w.db, &vk) < 0 || !(w.base = event_base_new()) ||
	    serve_init(&w, &o.lim) < 0)
		goto out;
	if (rp_httpd_listen(&w.httpd, o.listen, &d) < 0) {
		fprintf(stderr, "rampart-witness: %s\n", d.msg);
		goto out;
	}
	w.started = rp_now();
	if (o.metrics && serve_metrics_start(&w, o.metrics, &o.lim) < 0)
		goto out;
	sigterm = evsignal_new(w.base, SIGTERM, on_signal, &w);
	sigint = evsignal_new(w.base, SIGINT, on_signal, &w);
	if (!sigterm || !sigint || evsignal_add(sigterm, NULL) < 0 ||
	    evsignal_add(sigint, NULL) < 0)
		goto out;
	fprintf(stderr, "rampart-witness %s: serving http://%s/add-checkpoint as %s (data %s)\n",
		RP_VERSION, o.listen, vk, o.data);
	/* systemd's Type=notify (dist/rampart-witness.service) */
	if (rp_notify("READY=1") < 0)
		fprintf(stderr, "rampart-witness: $NOTIFY_SOCKET: %s\n", strerror(errno));
	event_base_dispatch(w.base);
	fprintf(stderr, "rampart-witness: stopped\n");
	rc = 0;
out:
	if (sigterm)
		event_free(sigterm);
	if (sigint)
		event_free(sigint);
	rp_metrics_free(w.metrics);
	rp_httpd_release(&w.httpd);
	if (w.base)
		event_base_free(w.base);
	wdb_close(&w.db);
	rp_skey_wipe(&w.key);
	free(vk);
	return rc;
}

static const struct rp_cmd commands[] = {
	{"init", init_main, "create the data directory, database and cosignature key"},
	{"vkey", vkey_main, "print the witness's cosignature verifier key"},
	{"add-log", add_log_main, "trust a log's key (its name is the log's origin)"},
	{"remove-log", remove_log_main, "stop trusting a log or one of its keys"},
	{"logs", logs_main, "list the trusted logs with their latest cosigned size"},
	{"serve", serve_main, "serve POST /add-checkpoint"},
	{"list", list_main, "print the history of cosigned checkpoints"},
	{"evidence", evidence_main, "print the forks (log-signed second roots) it refused"},
};

int main(int argc, char *argv[])
{
	/* The data directory holds the key and the database: nobody else reads them. */
	umask(0077);
	if (sodium_init() < 0) {
		fprintf(stderr, "%srampart-witness: libsodium failed to initialise\n",
			rp_log_prio(LOG_ERR));
		return 1;
	}
	return rp_cmd_main("rampart-witness",
			   "Cosigns a transparency log's checkpoints only while the log stays\n"
			   "append-only (C2SP tlog-witness).\n",
			   commands, sizeof(commands) / sizeof(commands[0]), argc, argv);
}
