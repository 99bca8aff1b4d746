/* SPDX-License-Identifier: Apache-2.0 */
/* rampartd: stores and delivers what administrators signed; authorises nothing. */
#include <dirent.h>
#include <errno.h>
#include <event2/event.h>
#include <event2/http.h>
#include <getopt.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <syslog.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api.h"
#include "cmd.h"
#include "httpd/httpd.h"
#include "log.h"
#include "logkey.h"
#include "policy.h"
#include "poll.h"
#include "rp_err.h"
#include "server.h"
#include "metrics.h"
#include "webhook.h"
#include "rotate-tls.h"
#include "sdnotify.h"
#include "text.h"
#include "tls.h"
#include "util.h"

/*
 * Opens DIR's database, first moving any log key still in it to its own
 * file (logkey_migrate): every command that opens a data directory does,
 * so none runs on a database that still holds a key.
 */
static int open_data(const char *dir, struct db *db)
{
	char dbp[600];

	if (data_path(dbp, sizeof(dbp), dir, SERVER_DB) < 0 || db_open(db, dbp, false) < 0)
		return -1;
	if (logkey_migrate(db, dir) < 0) {
		fprintf(stderr,
			"rampartd: %s: the log keys could not be moved out of the "
			"database (above); stopping\n",
			dir);
		db_close(db);
		return -1;
	}
	return 0;
}

/* A new one-time bootstrap token into out; only its hash is stored. */
static int new_bootstrap(struct db *db, char out[65])
{
	char token[65], hash[72];
	int r;

	rp_random_hex(token, 32);
	rp_sha256_text(token, strlen(token), hash);
	if ((r = db_bootstrap_add(db, hash)) < 0) {
		fprintf(stderr, "rampartd: storing a bootstrap token: %s\n", rp_strerror(r));
		return r;
	}
	memcpy(out, token, sizeof(token));
	return 0;
}

static const char *opt_data(int argc, char *argv[], const char *usage, const char **host)
{
	static const struct option opts[] = {
		{"data", required_argument, NULL, 'd'},
		{"host", required_argument, NULL, 'H'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	const char *data = NULL;
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "d:H:h", opts, NULL)) != -1) {
		switch (c) {
		case 'd': data = optarg; break;
		case 'H':
			if (!host)
				return NULL;
			*host = optarg;
			break;
		case 'h': fputs(usage, stdout); exit(0);
		default: return NULL;
		}
	}
	if (!data)
		fprintf(stderr, "rampartd: --data DIR is required\n%s", usage);
	return data;
}

/*
 * An existing directory is accepted when it is empty and ours (one made
 * for it, or by tmpfiles/a package); it is then made 0700. errno EEXIST otherwise.
 */
static bool empty_dir(const char *dir)
{
	struct stat st;
	struct dirent *e;
	DIR *d;
	bool empty = true;

	if (errno != EEXIST || lstat(dir, &st) != 0 || !S_ISDIR(st.st_mode) ||
	    st.st_uid != geteuid() || !(d = opendir(dir))) {
		errno = EEXIST;
		return false;
	}
	while (empty && (e = readdir(d)))
		empty = !strcmp(e->d_name, ".") || !strcmp(e->d_name, "..");
	closedir(d);
	if (!empty || chmod(dir, 0700) != 0) {
		errno = EEXIST;
		return false;
	}
	return true;
}

static int init_main(int argc, char *argv[])
{
	static const char usage[] =
		"Usage: rampartd init --data DIR [--host NAME]\n\n"
		"Creates DIR (0700) with the SQLite database, a TLS key (ECDSA P-256) and a\n"
		"self-signed certificate for localhost, 127.0.0.1 and NAME. Prints the key's\n"
		"pin (`pin sha256:...') and a one-time bootstrap token (`bootstrap ...') that\n"
		"creates the first organisation. Refuses an existing DIR unless it is an\n"
		"empty directory of the same user (made 0700 then). Each org's log\n"
		"signer key is made later by `rampartd log-key', in DIR/log-keys/.\n";
	const char *host = NULL, *dir = opt_data(argc, argv, usage, &host);
	char key[600], cert[600], dbp[600], pin[72], boot[65];
	struct db db = {0};

	if (!dir)
		return 2;
	if (host && !tls_host_valid(host)) {
		fprintf(stderr,
			"rampartd init: --host `%s' is neither a DNS name nor an IP address\n",
			host);
		return 2;
	}
	if (mkdir(dir, 0700) != 0 && !empty_dir(dir)) {
		fprintf(stderr, "rampartd: creating %s: %s\n", dir,
			errno == EEXIST ? "it exists and is not an empty directory of yours"
					: strerror(errno));
		return 1;
	}
	if (data_path(key, sizeof(key), dir, SERVER_KEY) < 0 ||
	    data_path(cert, sizeof(cert), dir, SERVER_CERT) < 0 ||
	    data_path(dbp, sizeof(dbp), dir, SERVER_DB) < 0)
		return 1;
	if (tls_generate(key, cert, host) < 0 || tls_pin(cert, pin) < 0 ||
	    db_open(&db, dbp, true) < 0)
		return 1;
	if (new_bootstrap(&db, boot) < 0) {
		db_close(&db);
		return 1;
	}
	db_close(&db);
	printf("pin %s\nbootstrap %s\n", pin, boot);
	fprintf(stderr,
		"rampartd: initialised %s; give the pin to administrators and agents, "
		"the bootstrap token to whoever creates the organisation\n",
		dir);
	return 0;
}

static int pin_main(int argc, char *argv[])
{
	const char *dir = opt_data(argc, argv,
				   "Usage: rampartd pin --data DIR\n\n"
				   "Prints the server key's pin, sha256:<hex>.\n",
				   NULL);
	char cert[600], pin[72];

	if (!dir || data_path(cert, sizeof(cert), dir, SERVER_CERT) < 0 || tls_pin(cert, pin) < 0)
		return 1;
	printf("%s\n", pin);
	return 0;
}

static int bootstrap_main(int argc, char *argv[])
{
	const char *dir = opt_data(argc, argv,
				   "Usage: rampartd bootstrap-token --data DIR\n\n"
				   "Prints a new one-time token for creating an organisation\n"
				   "(rampart policy upload --bootstrap).\n",
				   NULL);
	char boot[65];
	struct db db = {0};
	int r;

	if (!dir || open_data(dir, &db) < 0)
		return 1;
	r = new_bootstrap(&db, boot);
	db_close(&db);
	if (r < 0)
		return 1;
	printf("bootstrap %s\n", boot);
	return 0;
}

static int logkey_main(int argc, char *argv[])
{
	static const struct option opts[] = {
		{"data", required_argument, NULL, 'd'},
		{"org", required_argument, NULL, 'o'},
		{"host", required_argument, NULL, 'H'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	const char *dir = NULL, *org = NULL, *host = NULL;
	char hostname[256];
	struct rp_diag d = {""};
	struct db db = {0};
	struct rp_skey k;
	struct rp_vkey v;
	bool made = false;
	char *text;
	int c, r, rc = 0;

	optind = 1;
	while ((c = getopt_long(argc, argv, "d:o:H:h", opts, NULL)) != -1) {
		switch (c) {
		case 'd': dir = optarg; break;
		case 'o': org = optarg; break;
		case 'H': host = optarg; break;
		case 'h':
			printf("Usage: rampartd log-key --data DIR --org ORG [--host HOST]\n\n"
			       "Prints the verifier key that signs ORG's transparency log checkpoints,\n"
			       "making it on first use with the origin HOST/rampart/ORG (HOST: the\n"
			       "name agents and auditors know this server by; default: this machine's\n"
			       "host name). The administrators put it in the root policy's `log' line\n"
			       "(rampart org init --log-key). It identifies the log; it authorises\n"
			       "nothing: witnesses and agents check what it signs.\n\n"
			       "The signer key is written to DIR/log-keys/<origin>.key (mode 0600, the\n"
			       "origin's '/' as %%2F) before the database names it; the database keeps\n"
			       "only the verifier key. Back the key files up apart from the database and\n"
			       "keep them as secret as the TLS key. Exit status 1 when the key file of an\n"
			       "existing log cannot be used (said on stderr; the key is still printed).\n");
			return 0;
		default: return 2;
		}
	}
	if (!dir || !org) {
		fprintf(stderr, "rampartd log-key: --data DIR and --org ORG are required\n");
		return 2;
	}
	if (!rp_org_name_valid(org, strlen(org))) {
		fprintf(stderr, "rampartd log-key: `%s' is not a valid organisation name\n", org);
		return 2;
	}
	if (!host) {
		if (gethostname(hostname, sizeof(hostname)) != 0)
			snprintf(hostname, sizeof(hostname), "localhost");
		hostname[sizeof(hostname) - 1] = '\0';
		host = hostname;
	}
	if (open_data(dir, &db) < 0)
		return 1;
	r = logkey_create(&db, dir, org, host, &v, &made, &d);
	db_close(&db);
	if (r < 0) {
		fprintf(stderr, "rampartd log-key: %s\n", d.msg[0] ? d.msg : rp_strerror(r));
		return 1;
	}
	/* An existing log: say so when its key file would not sign. */
	if (!made && logkey_load(dir, NULL, &v, &k, &d) < 0) {
		fprintf(stderr, "rampartd log-key: org %s cannot sign checkpoints: %s\n", org,
			d.msg);
		rc = 1;
	}
	rp_skey_wipe(&k);
	if (!(text = rp_vkey_format(&v)))
		return 1;
	printf("%s\n", text);
	free(text);
	return rc;
}

/* A string from the database, neutralised for the operator's terminal (lib/text.c). */
static void put_safe(const char *s)
{
	struct rp_sb sb;

	rp_sb_init(&sb, 10 * strlen(s) + 16);
	rp_text_safe(&sb, s, strlen(s), RP_TEXT_LINE);
	if (!sb.err && sb.len)
		fwrite(sb.s, 1, sb.len, stdout);
	rp_sb_release(&sb);
}

/* --data DIR --org ORG [more]: the database opened, the org known to it. */
static int rotate_open(const char *what, const char *dir, const char *org, struct db *db)
{
	char dbp[600], *policy = NULL;
	int r;

	if (!dir || !org) {
		fprintf(stderr, "rampartd rotate %s: --data DIR and --org ORG are required\n",
			what);
		return 2;
	}
	if (!rp_org_name_valid(org, strlen(org))) {
		fprintf(stderr, "rampartd rotate %s: `%s' is not a valid organisation name\n", what,
			org);
		return 2;
	}
	if (data_path(dbp, sizeof(dbp), dir, SERVER_DB) < 0 || db_open(db, dbp, false) < 0)
		return 1;
	if ((r = db_policy_text(db, org, &policy)) < 0) {
		fprintf(stderr, "rampartd rotate %s: %s%s\n", what,
			r == RP_E_NOTFOUND ? "no such org in " : rp_strerror(r),
			r == RP_E_NOTFOUND ? dbp : "");
		db_close(db);
		return 1;
	}
	free(policy);
	return 0;
}

/* The new secrets of an offline reissue, by old token id (db_reissue_fn). */
struct offline_reissue {
	size_t n;
	struct {
		char old_id[RP_ID_HEX + 1];
		char secret[65];
	} v[RP_API_TOKENS_REISSUE_MAX];
};

static int reissue_here(void *arg, const struct db_token_row *row, char hash[72])
{
	struct offline_reissue *o = arg;

	if (o->n == RP_API_TOKENS_REISSUE_MAX)
		return RP_E_TOOBIG;
	memcpy(o->v[o->n].old_id, row->id, sizeof(row->id));
	rp_random_hex(o->v[o->n].secret, 32);
	rp_sha256_text(o->v[o->n].secret, 64, hash);
	o->n++;
	return 0;
}

static const char *offline_secret(const struct offline_reissue *o, const char *old_id)
{
	for (size_t i = 0; i < o->n; i++)
		if (!strcmp(o->v[i].old_id, old_id))
			return o->v[i].secret;
	return NULL;
}

static int rotate_api_main(int argc, char *argv[])
{
	static const struct option opts[] = {
		{"data", required_argument, NULL, 'd'},
		{"org", required_argument, NULL, 'o'},
		{"reissue", no_argument, NULL, 'r'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	const char *dir = NULL, *org = NULL;
	struct offline_reissue *o = NULL;
	struct db_token_row *v = NULL;
	struct db db = {0};
	bool reissue = false;
	char t[21];
	size_t n = 0;
	int c, r;

	optind = 1;
	while ((c = getopt_long(argc, argv, "d:o:rh", opts, NULL)) != -1) {
		switch (c) {
		case 'd': dir = optarg; break;
		case 'o': org = optarg; break;
		case 'r': reissue = true; break;
		case 'h':
			printf("Usage: rampartd rotate api-tokens --data DIR --org ORG [--reissue]\n\n"
			       "Revokes every API token of ORG at once, in one transaction on the\n"
			       "server's own database: the next request with any of them gets 401.\n"
			       "For the server's operator, when the administrators' CLI cannot be\n"
			       "used or the database may have been copied; safe while rampartd runs.\n"
			       "Prints each token revoked: `revoked ID SCOPE EXPIRES NAME'.\n\n"
			       "  --reissue  replace each unexpired one: same name and scope, its old\n"
			       "             lifetime from now, a new id and secret, printed once as\n"
			       "             `reissued NEW-ID SCOPE EXPIRES rpt_... NAME' (the database\n"
			       "             keeps only its hash). Hand them over as secrets.\n\n"
			       "Agents are not affected: they authenticate with their device keys.\n"
			       "The administrators' way is `rampart rotate api-tokens'.\n");
			return 0;
		default: return 2;
		}
	}
	if ((r = rotate_open("api-tokens", dir, org, &db)) != 0)
		return r;
	if (reissue && !(o = calloc(1, sizeof(*o)))) {
		db_close(&db);
		return 1;
	}
	r = db_tokens_rotate(&db, org, rp_now(), reissue ? reissue_here : NULL, o,
			     "rampartd rotate (operator)", &v, &n);
	db_close(&db);
	if (r < 0) {
		fprintf(stderr, "rampartd rotate api-tokens: %s%s\n", rp_strerror(r),
			r == RP_E_TOOBIG ? ": too many tokens to reissue at once; rotate without "
					   "--reissue and create what is still needed"
					 : "");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		rp_time_format(v[i].expires, t);
		fputs("revoked ", stdout);
		put_safe(v[i].id); /* all three as the database holds them: rows can be forged */
		fputc(' ', stdout);
		put_safe(v[i].scope);
		printf(" %s%s ", t, v[i].expires <= rp_now() ? "(expired)" : "");
		put_safe(v[i].name);
		fputc('\n', stdout);
	}
	for (size_t i = 0; o && i < n; i++) {
		const char *secret = offline_secret(o, v[i].id);
		if (!v[i].new_id[0] || !secret)
			continue;
		rp_time_format(v[i].new_expires, t);
		printf("reissued %s ", v[i].new_id);
		put_safe(v[i].scope);
		printf(" %s rpt_%s_%s ", t, v[i].new_id, secret);
		put_safe(v[i].name);
		fputc('\n', stdout);
	}
	fprintf(stderr, "rampartd: %zu API token%s of org %s revoked%s\n", n, n == 1 ? "" : "s",
		org, reissue ? ", the unexpired ones reissued" : "");
	r = 0;
out:
	if (o)
		sodium_memzero(o, sizeof(*o));
	free(o);
	free(v);
	return r < 0 ? 1 : 0;
}

static int rotate_enroll_main(int argc, char *argv[])
{
	static const struct option opts[] = {
		{"data", required_argument, NULL, 'd'},
		{"org", required_argument, NULL, 'o'},
		{"id", required_argument, NULL, 'i'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	const char *dir = NULL, *org = NULL, *id = NULL;
	struct db_enroll_row *v = NULL;
	struct db db = {0};
	char t[21];
	size_t n = 0;
	int c, r;

	optind = 1;
	while ((c = getopt_long(argc, argv, "d:o:i:h", opts, NULL)) != -1) {
		switch (c) {
		case 'd': dir = optarg; break;
		case 'o': org = optarg; break;
		case 'i': id = optarg; break;
		case 'h':
			printf("Usage: rampartd rotate enroll-tokens --data DIR --org ORG [--id ID]\n\n"
			       "Revokes every enrolment token of ORG not yet used (or only token ID),\n"
			       "in one transaction on the server's own database: none of them enrols\n"
			       "a device any more. Enrolled devices are not affected. Used tokens stay\n"
			       "as the record of who enrolled what. Safe while rampartd runs. Prints\n"
			       "each one revoked: `revoked ID EXPIRES CREATED-BY'.\n"
			       "The administrators' way is `rampart rotate enroll-tokens'.\n");
			return 0;
		default: return 2;
		}
	}
	if (id && !rp_id_valid(id, strlen(id))) {
		fprintf(stderr, "rampartd rotate enroll-tokens: --id `%s' is not 32 hex digits\n",
			id);
		return 2;
	}
	if ((r = rotate_open("enroll-tokens", dir, org, &db)) != 0)
		return r;
	r = db_enroll_tokens_revoke(&db, org, id, &v, &n);
	db_close(&db);
	if (r < 0) {
		fprintf(stderr, "rampartd rotate enroll-tokens: %s\n",
			r == RP_E_NOTFOUND ? "no such enrolment token in the org"
			: r == RP_E_EXISTS
				? "that enrolment token was already used; it cannot enrol again"
				: rp_strerror(r));
		return 1;
	}
	for (size_t i = 0; i < n; i++) {
		rp_time_format(v[i].expires, t);
		fputs("revoked ", stdout);
		put_safe(v[i].id);
		printf(" %s%s ", t, v[i].expires <= rp_now() ? "(expired)" : "");
		put_safe(v[i].created_by);
		fputc('\n', stdout);
	}
	fprintf(stderr, "rampartd: %zu unused enrolment token%s of org %s revoked\n", n,
		n == 1 ? "" : "s", org);
	free(v);
	return 0;
}

static int rotate_logkey_main(int argc, char *argv[])
{
	static const struct option opts[] = {
		{"data", required_argument, NULL, 'd'},
		{"org", required_argument, NULL, 'o'},
		{"host", required_argument, NULL, 'H'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	const char *dir = NULL, *org = NULL, *host = NULL;
	struct rp_diag d = {""};
	struct db db = {0};
	struct rp_vkey v;
	bool made = false;
	char *text;
	int c, r;

	optind = 1;
	while ((c = getopt_long(argc, argv, "d:o:H:h", opts, NULL)) != -1) {
		switch (c) {
		case 'd': dir = optarg; break;
		case 'o': org = optarg; break;
		case 'H': host = optarg; break;
		case 'h':
			printf("Usage: rampartd rotate log-key --data DIR --org ORG [--host HOST]\n\n"
			       "Makes the key of ORG's next transparency log and prints its verifier\n"
			       "key (again, when one is already waiting). The new log's origin is\n"
			       "HOST/rampart/ORG/<generation> (HOST: the current log's by default).\n"
			       "Nothing changes for agents yet. Then, in this order:\n"
			       "  1. each witness operator: rampart-witness add-log --vkey <that key>;\n"
			       "  2. the administrators: rampart policy propose --log-key <that key>,\n"
			       "     rampart policy approve, submit.\n"
			       "When that root policy is published it is the current log's last entry\n"
			       "and the new log's first; new entries go to the new log. The old log is\n"
			       "kept, served (/v1/log/ORG/<generation>/) and cosigned for freshness,\n"
			       "so agents that were away read it to its end and follow, and `rampart\n"
			       "audit' replays one log after the other. Safe while rampartd runs.\n"
			       "The key file is written to DIR/log-keys/ as `rampartd log-key' does.\n");
			return 0;
		default: return 2;
		}
	}
	if ((r = rotate_open("log-key", dir, org, &db)) != 0)
		return r;
	r = logkey_next(&db, dir, org, host, &v, &made, &d);
	db_close(&db);
	if (r < 0) {
		fprintf(stderr, "rampartd rotate log-key: %s\n", d.msg[0] ? d.msg : rp_strerror(r));
		return 1;
	}
	if (!(text = rp_vkey_format(&v)))
		return 1;
	printf("%s\n", text);
	fprintf(stderr,
		"rampartd: org %s: %s log key %s; next: each witness `rampart-witness add-log "
		"--vkey' it, then the administrators `rampart policy propose --log-key' it\n",
		org, made ? "new" : "the next", v.name);
	free(text);
	return 0;
}

static int rotate_main(int argc, char *argv[])
{
	static const struct rp_cmd sub[] = {
		{"log-key", rotate_logkey_main,
		 "a new log key and origin; agents follow a root policy naming it"},
		{"tls", rotate_tls_main,
		 "the server's TLS key; agents follow only a root policy naming it"},
		{"api-tokens", rotate_api_main, "revoke (--reissue: and replace) every API token"},
		{"enroll-tokens", rotate_enroll_main, "revoke every enrolment token not yet used"},
	};

	return rp_cmd_main(
		"rampartd rotate",
		"Rotates a credential on the server's own data directory (--data DIR).\n"
		"api-tokens and enroll-tokens revoke at once, while rampartd runs or not;\n"
		"tls and log-key make a new key that counts once a root policy names it;\n"
		"agents keep working: they authenticate with their device keys.\n",
		sub, sizeof(sub) / sizeof(sub[0]), argc, argv);
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct server *s = arg;
	struct timeval flush = {0, 200 * 1000};

	(void)what;
	if (s->stopping)
		return;
	s->stopping = true;
	rp_notify("STOPPING=1");
	fprintf(stderr, "rampartd: %s: answering %zu held polls and stopping\n",
		sig == SIGTERM ? "SIGTERM" : "SIGINT", s->nwaiters);
	rp_httpd_stop_accepting(&s->httpd); /* requests in flight finish, without keep-alive */
	rp_metrics_stop_accepting(s->metrics);
	poll_release_all(s);
	event_base_loopexit(s->base, &flush);
}

static int serve_main(int argc, char *argv[])
{
	static const struct option opts[] = {
		{"data", required_argument, NULL, 'd'},
		{"listen", required_argument, NULL, 'l'},
		{"poll-hold", required_argument, NULL, 'p'},
		{"metrics-listen", required_argument, NULL, 'M'},
		{"log-level", required_argument, NULL, 'L'},
		{"witness-ca", required_argument, NULL, 'C'},
		{"alert-webhook", required_argument, NULL, 'W'},
		{"alert-webhook-secret", required_argument, NULL, 'S'},
		{"alert-webhook-ca", required_argument, NULL, 'A'},
		{"max-connections", required_argument, NULL, 0x100 + RP_HTTPD_MAX_CONNS},
		{"header-timeout", required_argument, NULL, 0x100 + RP_HTTPD_HEADERS_S},
		{"body-timeout", required_argument, NULL, 0x100 + RP_HTTPD_BODY_S},
		{"idle-timeout", required_argument, NULL, 0x100 + RP_HTTPD_IDLE_S},
		{"write-timeout", required_argument, NULL, 0x100 + RP_HTTPD_WRITE_S},
		{"first-request-timeout", required_argument, NULL, 0x100 + RP_HTTPD_FIRST_S},
		{"max-connections-per-address", required_argument, NULL, 0x100 + RP_HTTPD_PER_ADDR},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	struct server s = {.poll_hold = 30};
	const char *dir = NULL, *listen = "127.0.0.1:8443", *witness_ca = NULL, *metrics = NULL;
	const char *webhook = NULL, *webhook_secret = NULL, *webhook_ca = NULL;
	char key[600], cert[600];
	struct event *sigterm = NULL, *sigint = NULL;
	struct rp_httpd_limits lim;
	struct rp_diag d = {""};
	char host[256];
	uint16_t port;
	uint64_t v;
	int c, idx, rc = 1;

	rp_httpd_limits_init(&lim, RP_HTTP_CONNS_DEFAULT);
	optind = 1;
	while ((c = getopt_long(argc, argv, "d:l:p:C:M:L:W:S:A:h", opts, &idx)) != -1) {
		if (c >= 0x100) {
			if (rp_httpd_limit_set(&lim, (enum rp_httpd_limit)(c - 0x100), optarg, &d) <
			    0) {
				fprintf(stderr, "rampartd serve: --%s %s\n", opts[idx].name, d.msg);
				return 2;
			}
			continue;
		}
		switch (c) {
		case 'd': dir = optarg; break;
		case 'l': listen = optarg; break;
		case 'C': witness_ca = optarg; break;
		case 'M': metrics = optarg; break;
		case 'W': webhook = optarg; break;
		case 'S': webhook_secret = optarg; break;
		case 'A': webhook_ca = optarg; break;
		case 'L':
			if (strcmp(optarg, "info") && strcmp(optarg, "debug")) {
				fprintf(stderr,
					"rampartd serve: --log-level `%s' is not info or debug\n",
					optarg);
				return 2;
			}
			s.log_debug = !strcmp(optarg, "debug");
			break;
		case 'p':
			if (rp_parse_u64(optarg, strlen(optarg), 300, &v) != 0 || v == 0) {
				fprintf(stderr,
					"rampartd: --poll-hold `%s' is not 1 to 300 seconds\n",
					optarg);
				return 2;
			}
			s.poll_hold = (int)v;
			break;
		case 'h':
			printf("Usage: rampartd serve --data DIR [--listen ADDR:PORT] [--poll-hold S]\n"
			       "                      [--witness-ca FILE] [--max-connections N]\n"
			       "                      [--header-timeout S] [--body-timeout S]\n"
			       "                      [--idle-timeout S] [--write-timeout S]\n"
			       "                      [--max-connections-per-address N]\n"
			       "                      [--first-request-timeout S]\n"
			       "                      [--metrics-listen ADDR:PORT] [--log-level info|debug]\n"
			       "                      [--alert-webhook URL [--alert-webhook-secret FILE]\n"
			       "                       [--alert-webhook-ca FILE]]\n\n"
			       "Serves the API over HTTPS (TLS 1.3 only) on one event-driven thread.\n"
			       "Agents' long polls are held up to S seconds (default 30) and answered\n"
			       "at once when approved work is in a checkpoint the witnesses cosigned.\n"
			       "Each org's log checkpoints go to the witnesses its root policy names.\n"
			       "They are signed with the org's key file in DIR/log-keys/ (rampartd\n"
			       "log-key --help); one that is missing, open to others or not the key the\n"
			       "database names is refused and logged, and that org's log waits for it.\n"
			       "SIGTERM stops cleanly.\n\n"
			       "  --listen ADDR:PORT   default 127.0.0.1:8443; [::]:8443 for IPv6\n"
			       "  --witness-ca FILE    CA certificates (PEM) for https:// witnesses,\n"
			       "                       instead of the system's\n"
			       "  --metrics-listen ADDR:PORT  serve Prometheus text on http://ADDR:PORT/metrics\n"
			       "                       (plain HTTP, off by default; it names orgs and fleet\n"
			       "                       sizes: keep it on loopback or a monitoring network)\n"
			       "  --log-level L        info (default): one line per event and per request\n"
			       "                       but agents' answered polls and log reads; debug: those too\n"
			       "  --alert-webhook URL  POST every alert agents report to URL (http or https),\n"
			       "                       JSON, in order, retried with backoff, queued up to 1024\n"
			       "                       (docs/monitoring.md); the agents' own syslog is the\n"
			       "                       copy a breached server cannot suppress\n"
			       "  --alert-webhook-secret FILE  sign each body: X-Rampart-Signature:\n"
			       "                       sha256=<hex HMAC-SHA256 with FILE's bytes as the key>\n"
			       "                       (FILE only rampartd's user reads)\n"
			       "  --alert-webhook-ca FILE  CA certificates (PEM) for an https:// webhook,\n"
			       "                       instead of the system's\n");
			fputs(RP_HTTPD_USAGE(RP_HTTP_CONNS_DEFAULT), stdout);
			printf("A held poll waits for the server, not the client: no deadline cuts it.\n"
			       "Size the limits with docs/operating.md, \"Limits and timeouts\".\n");
			return 0;
		default: return 2;
		}
	}
	if (!dir) {
		fprintf(stderr, "rampartd serve: --data DIR is required\n");
		return 2;
	}
	if ((webhook_secret || webhook_ca) && !webhook) {
		fprintf(stderr, "rampartd serve: --alert-webhook-secret and --alert-webhook-ca "
				"need --alert-webhook URL\n");
		return 2;
	}
	if (rp_httpd_parse_listen(listen, host, sizeof(host), &port) < 0) {
		fprintf(stderr, "rampartd serve: --listen `%s' is not ADDR:PORT\n", listen);
		return 2;
	}
	if (data_path(key, sizeof(key), dir, SERVER_KEY) < 0 ||
	    data_path(cert, sizeof(cert), dir, SERVER_CERT) < 0)
		return 1;
	s.data = dir;
	/* One descriptor per agent: take all the kernel allows. */
	if (rp_httpd_fit_descriptors(&lim, &d) > 0)
		fprintf(stderr, "rampartd: --max-connections: %s\n", d.msg);
	signal(SIGPIPE, SIG_IGN);
	s.on_witnessed = poll_wake;
	if (open_data(dir, &s.db) < 0 || !(s.ssl = tls_server_ctx(key, cert)) ||
	    !(s.base = event_base_new()) || api_init(&s, &lim) < 0 || log_init(&s, witness_ca) < 0)
		goto out;
	if (rp_httpd_listen(&s.httpd, listen, &d) < 0) {
		fprintf(stderr, "rampartd: %s\n", d.msg);
		goto out;
	}
	s.started = rp_now();
	if (metrics && metrics_start(&s, metrics, &lim) < 0)
		goto out;
	if (webhook && webhook_start(&s, webhook, webhook_secret, webhook_ca) < 0)
		goto out;
	sigterm = evsignal_new(s.base, SIGTERM, on_signal, &s);
	sigint = evsignal_new(s.base, SIGINT, on_signal, &s);
	evsignal_add(sigterm, NULL);
	evsignal_add(sigint, NULL);
	fprintf(stderr,
		"rampartd %s: serving https://%s (poll hold %d s, at most %u connections, "
		"%u per address, data %s)\n",
		RP_VERSION, listen, s.poll_hold, s.httpd.c.lim.max_conns, s.httpd.c.lim.per_addr,
		dir);
	/* systemd's Type=notify (dist/rampartd.service): listening, keys loaded */
	if (rp_notify("READY=1") < 0)
		fprintf(stderr, "rampartd: $NOTIFY_SOCKET: %s\n", strerror(errno));
	event_base_dispatch(s.base);
	fprintf(stderr, "rampartd: stopped\n");
	rc = 0;
out:
	poll_release_all(&s);
	log_release(&s);
	if (sigterm)
		event_free(sigterm);
	if (sigint)
		event_free(sigint);
	metrics_release(&s);
	webhook_release(&s);
	rp_httpd_release(&s.httpd);
	if (s.base)
		event_base_free(s.base);
	SSL_CTX_free(s.ssl);
	db_close(&s.db);
	return rc;
}

static const struct rp_cmd commands[] = {
	{"init", init_main, "create a data directory: database, TLS key, bootstrap token"},
	{"serve", serve_main, "serve the API"},
	{"pin", pin_main, "print the server key's pin"},
	{"bootstrap-token", bootstrap_main, "print a new one-time token for creating an org"},
	{"log-key", logkey_main, "print (making it first) an org's log verifier key"},
	{"rotate", rotate_main, "rotate a credential: tls, log-key, api-tokens, enroll-tokens"},
};

int main(int argc, char *argv[])
{
	/* The data directory holds keys and the database: nobody else reads them. */
	umask(0077);
	if (sodium_init() < 0) {
		fprintf(stderr, "%srampartd: libsodium failed to initialise\n",
			rp_log_prio(LOG_ERR));
		return 1;
	}
	return rp_cmd_main("rampartd", NULL, commands, sizeof(commands) / sizeof(commands[0]), argc,
			   argv);
}
