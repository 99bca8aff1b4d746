/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `rampartd rotate tls`: a new TLS key for the server, which agents accept
 * only once a root policy the administrators signed names it (server-pin
 * lines, docs/operating.md "Rotating the server's TLS key"), never on the
 * server's word:
 *
 *   1. rampartd rotate tls --data DIR [--host NAME]
 *        makes tls.next.key and tls.next.crt and prints both pins;
 *   2. the administrators publish a policy naming both pins
 *        (rampart policy propose --server-pin OLD --server-pin NEW, approve);
 *   3. rampartd rotate tls --data DIR --activate
 *        keeps tls.key/tls.crt as tls.prev.*, puts the next pair in their
 *        place; rampartd serves it once restarted;
 *   4. later, a policy naming the new pin alone retires the old key.
 */
#include "rotate-tls.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "server.h"
#include "tls.h"

#define SERVER_NEXT_KEY  "tls.next.key"
#define SERVER_NEXT_CERT "tls.next.crt"
#define SERVER_PREV_KEY  "tls.prev.key"
#define SERVER_PREV_CERT "tls.prev.crt"

static const char usage[] =
	"Usage: rampartd rotate tls --data DIR [--host NAME]\n"
	"       rampartd rotate tls --data DIR --activate\n"
	"       rampartd rotate tls --data DIR --status\n\n"
	"Rotates the server's TLS key (ECDSA P-256, self-signed for localhost,\n"
	"127.0.0.1 and NAME). Agents pin the server's key: they accept a new one\n"
	"only when the root policy in force names it (server-pin lines), which\n"
	"only the administrators can sign. So:\n"
	"  1. `rampartd rotate tls' makes the next key (tls.next.key, .crt) and\n"
	"     prints the current and next pins; the server keeps serving the old;\n"
	"  2. the administrators publish a policy naming both:\n"
	"     rampart policy propose --server-pin CURRENT --server-pin NEXT, and\n"
	"     rampart approve; agents follow it as they read the log;\n"
	"  3. `rampartd rotate tls --activate' puts the next key in place (the old\n"
	"     one kept as tls.prev.*); restart rampartd to serve it;\n"
	"  4. later, a policy naming only the new pin retires the old key.\n"
	"Agents still holding only the old pin refuse the new key and say so\n"
	"(SECURITY: the server's key does not match), executing nothing.\n"
	"--status prints the pins of the current and next keys.\n";

static bool exists(const char *p)
{
	return access(p, F_OK) == 0;
}

/* Renames a to b, both in dir, and says so on failure. */
static int move(const char *a, const char *b)
{
	if (rename(a, b) == 0)
		return 0;
	fprintf(stderr, "rampartd rotate tls: renaming %s to %s: %s\n", a, b, strerror(errno));
	return -1;
}

int rotate_tls_main(int argc, char *argv[])
{
	static const struct option opts[] = {
		{"data", required_argument, NULL, 'd'}, {"host", required_argument, NULL, 'H'},
		{"activate", no_argument, NULL, 'a'},   {"status", no_argument, NULL, 's'},
		{"help", no_argument, NULL, 'h'},       {0},
	};
	const char *dir = NULL, *host = NULL;
	char key[600], cert[600], nkey[600], ncert[600], pkey[600], pcert[600];
	char pin[72], npin[72];
	bool activate = false, status = false;
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "d:H:ash", opts, NULL)) != -1) {
		switch (c) {
		case 'd': dir = optarg; break;
		case 'H': host = optarg; break;
		case 'a': activate = true; break;
		case 's': status = true; break;
		case 'h': fputs(usage, stdout); return 0;
		default: fputs(usage, stderr); return 2;
		}
	}
	if (!dir || optind != argc || (activate && (status || host)) || (status && host)) {
		fputs(usage, stderr);
		return 2;
	}
	if (host && !tls_host_valid(host)) {
		fprintf(stderr,
			"rampartd rotate tls: --host `%s' is neither a DNS name nor an IP address\n",
			host);
		return 2;
	}
	if (data_path(key, sizeof(key), dir, SERVER_KEY) < 0 ||
	    data_path(cert, sizeof(cert), dir, SERVER_CERT) < 0 ||
	    data_path(nkey, sizeof(nkey), dir, SERVER_NEXT_KEY) < 0 ||
	    data_path(ncert, sizeof(ncert), dir, SERVER_NEXT_CERT) < 0 ||
	    data_path(pkey, sizeof(pkey), dir, SERVER_PREV_KEY) < 0 ||
	    data_path(pcert, sizeof(pcert), dir, SERVER_PREV_CERT) < 0) {
		fprintf(stderr, "rampartd rotate tls: data directory path too long\n");
		return 1;
	}
	if (tls_pin(cert, pin) < 0) {
		fprintf(stderr, "rampartd rotate tls: %s is not a data directory with a key\n",
			dir);
		return 1;
	}
	bool have_next = exists(nkey) && exists(ncert);
	if (status) {
		printf("current %s\n", pin);
		if (have_next && tls_pin(ncert, npin) == 0)
			printf("next %s\n", npin);
		else
			printf("next none\n");
		return 0;
	}
	if (activate) {
		if (!have_next || tls_pin(ncert, npin) < 0) {
			fprintf(stderr,
				"rampartd rotate tls: no next key in %s: run `rampartd "
				"rotate tls --data DIR' first\n",
				dir);
			return 1;
		}
		/* The old pair is kept: a rollback is the same renames the other way. */
		if (move(key, pkey) < 0 || move(cert, pcert) < 0 || move(nkey, key) < 0 ||
		    move(ncert, cert) < 0)
			return 1;
		printf("current %s\nprevious %s\n", npin, pin);
		fprintf(stderr,
			"rampartd: the next key is in place; restart rampartd to serve it. Agents "
			"accept it only if the root policy in force names %s\n",
			npin);
		return 0;
	}
	if (have_next) {
		if (tls_pin(ncert, npin) < 0)
			return 1;
		fprintf(stderr,
			"rampartd rotate tls: a next key is already waiting (%s); activate it, or "
			"remove %s and %s to make another\n",
			npin, nkey, ncert);
		return 1;
	}
	if (tls_generate(nkey, ncert, host) < 0 || tls_pin(ncert, npin) < 0)
		return 1;
	printf("current %s\nnext %s\n", pin, npin);
	fprintf(stderr,
		"rampartd: made the next TLS key; have the administrators publish a root policy "
		"with `server-pin %s' and `server-pin %s' (rampart policy propose), then run "
		"`rampartd rotate tls --data %s --activate' and restart rampartd\n",
		pin, npin, dir);
	return 0;
}
