/* SPDX-License-Identifier: Apache-2.0 */
#include "state.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rp_err.h"

static const char *const mark_names[] = {"none", "started", "reported", "refused"};

int agent_path(const struct agent *a, char *out, size_t outlen, const char *name)
{
	int n = snprintf(out, outlen, "%s/%s", a->dir, name);
	return n < 0 || (size_t)n >= outlen ? RP_E_TOOBIG : 0;
}

int agent_conf_format(const struct agent_conf *c, char *buf, size_t n)
{
	int k = snprintf(buf, n, "server %s\npin %s\norg %s\ndevice %s\n", c->server, c->pin,
			 c->org, c->device);
	return k < 0 || (size_t)k >= n ? RP_E_TOOBIG : k;
}

int agent_conf_write(const char *dir, const struct agent_conf *c)
{
	char path[600], buf[RP_AGENT_CONF_MAX];
	int n;

	snprintf(path, sizeof(path), "%s/agent.conf", dir);
	if ((n = agent_conf_format(c, buf, sizeof(buf))) < 0)
		return n;
	return rp_write_file_atomic(path, buf, (size_t)n, 0600);
}

int agent_conf_parse(const char *text, size_t len, struct agent_conf *c, struct rp_diag *d)
{
	static const char *const names[] = {"server", "pin", "org", "device"};
	char *dst[] = {c->server, c->pin, c->org, c->device};
	size_t caps[] = {sizeof(c->server), sizeof(c->pin), sizeof(c->org), sizeof(c->device)};
	struct rp_cursor cur = {text, len};
	const char *line, *w, *v;
	size_t llen, wlen, vlen;

	memset(c, 0, sizeof(*c));
	for (size_t i = 0; i < 4; i++) {
		if (rp_cursor_line(&cur, &line, &llen) != 1 ||
		    !rp_split_word(line, llen, &w, &wlen, &v, &vlen) ||
		    !rp_memeq(w, wlen, names[i]) || vlen == 0 || vlen >= caps[i]) {
			rp_diagf(d, "agent.conf: missing or bad `%s' line", names[i]);
			return RP_E_MALFORMED;
		}
		for (size_t k = 0; k < vlen; k++) {
			if (v[k] <= ' ' || v[k] > '~') {
				rp_diagf(d, "agent.conf: `%s' holds a byte that is not printable ASCII",
					 names[i]);
				return RP_E_MALFORMED;
			}
		}
		memcpy(dst[i], v, vlen);
	}
	if (cur.n != 0) {
		rp_diagf(d, "agent.conf: unexpected text after the `device' line");
		return RP_E_MALFORMED;
	}
	return 0;
}

int agent_record_parse(const char *line, size_t llen, char id[RP_ID_HEX + 1],
		       enum exec_mark *ret)
{
	const char *m, *sp;
	size_t mlen;

	/* "<id> <mark> <time>" */
	if (llen < RP_ID_HEX + 2 || line[RP_ID_HEX] != ' ' || !rp_id_valid(line, RP_ID_HEX))
		return RP_E_MALFORMED;
	m = line + RP_ID_HEX + 1;
	mlen = llen - RP_ID_HEX - 1;
	if ((sp = memchr(m, ' ', mlen)))
		mlen = (size_t)(sp - m);
	for (int k = MARK_STARTED; k <= MARK_REFUSED; k++) {
		if (rp_memeq(m, mlen, mark_names[k])) {
			memcpy(id, line, RP_ID_HEX);
			id[RP_ID_HEX] = '\0';
			*ret = (enum exec_mark)k;
			return 0;
		}
	}
	return RP_E_MALFORMED;
}

/* Sets id's mark in memory; later records win. */
static int rec_put(struct agent *a, const char *id, enum exec_mark m)
{
	for (size_t i = 0; i < a->nrecs; i++) {
		if (strcmp(a->recs[i].id, id) == 0) {
			a->recs[i].mark = m;
			return 0;
		}
	}
	if (a->nrecs == a->caprecs) {
		size_t nc = a->caprecs ? 2 * a->caprecs : 64;
		struct agent_record *p = realloc(a->recs, nc * sizeof(*p));
		if (!p)
			return RP_E_NOMEM;
		a->recs = p;
		a->caprecs = nc;
	}
	memcpy(a->recs[a->nrecs].id, id, RP_ID_HEX);
	a->recs[a->nrecs].id[RP_ID_HEX] = '\0';
	a->recs[a->nrecs++].mark = m;
	return 0;
}

static int records_load(struct agent *a, struct rp_diag *d)
{
	char path[600], *buf = NULL;
	size_t len;
	struct rp_cursor cur;
	const char *line;
	size_t llen;
	int r;

	agent_path(a, path, sizeof(path), "executed");
	r = rp_read_file(path, 64u << 20, &buf, &len);
	if (r == RP_E_NOTFOUND)
		return 0;
	if (r < 0) {
		rp_diagf(d, "reading %s: %s", path, rp_strerror(r));
		return r;
	}
	cur.p = buf;
	cur.n = len;
	while (rp_cursor_line(&cur, &line, &llen) == 1) {
		char id[RP_ID_HEX + 1];
		enum exec_mark m;
		/* A torn last line (crash mid-write) is skipped. */
		if (agent_record_parse(line, llen, id, &m) < 0)
			continue;
		if (rec_put(a, id, m) < 0) {
			free(buf);
			return RP_E_NOMEM;
		}
	}
	free(buf);
	return 0;
}

static int log_state_write(struct agent *a)
{
	char path[600], *text;
	size_t len;
	int r;

	if (!(text = rp_log_state_format(&a->log, &len)))
		return RP_E_NOMEM;
	agent_path(a, path, sizeof(path), "log.state");
	r = rp_write_file_atomic(path, text, len, 0600);
	free(text);
	return r;
}

static int log_state_load(struct agent *a, struct rp_diag *d)
{
	char path[600], *buf = NULL;
	struct rp_diag pd = {""};
	size_t len;
	int r;

	a->log.size = 0;
	a->log.newest = 0;
	a->log.last_index = -1;
	agent_path(a, path, sizeof(path), "log.state");
	if ((r = rp_read_file_flags(path, RP_LOG_STATE_MAX, RP_FILE_NOFOLLOW, &buf, &len, NULL)) ==
	    RP_E_NOTFOUND)
		return 0;
	if (r < 0) {
		rp_diagf(d, "reading %s: %s", path, rp_strerror(r));
		return r;
	}
	r = rp_log_state_parse(buf, len, &a->log, &pd);
	free(buf);
	if (r < 0)
		rp_diagf(d, "%s: %s (the file is written atomically: it was changed by hand or "
			    "damaged)", path, pd.msg);
	return r;
}

int agent_log_store(void *arg, const struct rp_checkpoint *cp, const char *note, size_t len,
		    int64_t newest)
{
	struct agent *a = arg;
	char path[600];
	int r;

	if (cp->size == a->log.size && newest <= a->log.newest)
		return 0; /* nothing new: no write */
	agent_path(a, path, sizeof(path), "checkpoint.note");
	if ((r = rp_write_file_atomic(path, note, len, 0600)) < 0)
		return r;
	a->log.size = cp->size;
	memcpy(a->log.root, cp->root, RP_HASH_LEN);
	a->log.newest = newest;
	return log_state_write(a);
}

int agent_log_acted(struct agent *a, int64_t index)
{
	if (index <= a->log.last_index)
		return 0;
	a->log.last_index = index;
	return log_state_write(a);
}

int agent_load(struct agent *a, const char *dir, struct rp_diag *d)
{
	char path[600], *buf = NULL;
	size_t len;
	int r;

	memset(a, 0, sizeof(*a));
	if (strlen(dir) >= sizeof(a->dir)) {
		rp_diagf(d, "state directory path is too long");
		return RP_E_TOOBIG;
	}
	memcpy(a->dir, dir, strlen(dir) + 1);

	agent_path(a, path, sizeof(path), "agent.conf");
	if ((r = rp_read_file_flags(path, RP_AGENT_CONF_MAX, RP_FILE_NOFOLLOW, &buf, &len,
				    NULL)) < 0) {
		rp_diagf(d, "reading %s: %s (is this device enrolled?)", path, rp_strerror(r));
		return r;
	}
	r = agent_conf_parse(buf, len, &a->conf, d);
	free(buf);
	buf = NULL;
	if (r < 0)
		return r;

	agent_path(a, path, sizeof(path), "device.key");
	if ((r = rp_read_file_flags(path, RP_KEYTEXT_MAX, RP_FILE_PRIVATE, &buf, &len, d)) < 0)
		return r; /* d names the file and why */
	r = rp_skey_parse(buf, len, &a->key, d);
	sodium_memzero(buf, len);
	free(buf);
	buf = NULL;
	if (r < 0)
		return r;

	agent_path(a, path, sizeof(path), "policy.note");
	if ((r = rp_read_file_flags(path, RP_NOTE_MAX, RP_FILE_NOFOLLOW, &buf, &len, NULL)) < 0) {
		rp_diagf(d, "reading %s: %s", path, rp_strerror(r));
		return r;
	}
	r = rp_policy_parse(buf, len, &a->policy, d);
	free(buf);
	if (r < 0)
		return r;
	/* The stored policy was verified at enrolment; check it again so a
	 * tampered file is noticed rather than trusted. */
	if ((r = rp_quorum_check(a->policy, RP_ROLE_ROOT, a->policy->note, NULL, d)) < 0)
		return r;

	if ((r = rp_url_parse(a->conf.server, &a->api.http.url, d)) < 0 ||
	    (r = rp_pin_parse(a->conf.pin, a->api.http.pin, d)) < 0)
		return r;
	a->api.key = &a->key;
	a->api.conn = &a->conn;
	a->api.http.timeout_ms = 15000;
	if ((r = log_state_load(a, d)) < 0)
		return r;
	return records_load(a, d);
}

void agent_release(struct agent *a)
{
	rp_https_conn_close(&a->conn);
	rp_policy_free(a->policy);
	free(a->recs);
	rp_skey_wipe(&a->key);
	memset(a, 0, sizeof(*a));
}

enum exec_mark agent_mark_get(const struct agent *a, const char *id)
{
	for (size_t i = 0; i < a->nrecs; i++)
		if (strcmp(a->recs[i].id, id) == 0)
			return a->recs[i].mark;
	return MARK_NONE;
}

int agent_mark_set(struct agent *a, const char *id, enum exec_mark m)
{
	char path[600], line[128];
	int fd, n, r = 0;

	agent_path(a, path, sizeof(path), "executed");
	n = snprintf(line, sizeof(line), "%s %s %lld\n", id, mark_names[m], (long long)rp_now());
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return RP_E_IO;
	if (write(fd, line, (size_t)n) != n || fsync(fd) != 0)
		r = RP_E_IO;
	close(fd);
	if (r < 0)
		return r;
	return rec_put(a, id, m);
}

int agent_seen(void *arg, const char *id)
{
	return agent_mark_get(arg, id) != MARK_NONE;
}

void agent_alert_log(const struct agent *a, const char *id, const char *code,
		     const char *reason)
{
	char path[600], t[21];
	FILE *f;

	rp_time_format(rp_now(), t);
	fprintf(stderr, "rampart-agent: SECURITY ALERT: %s: command %s: %s\n", code,
		id[0] ? id : "(unparsed)", reason);
	agent_path(a, path, sizeof(path), "alerts.log");
	f = fopen(path, "ae");
	if (!f)
		return;
	fprintf(f, "%s %s %s %s\n", t, code, id[0] ? id : "-", reason);
	fflush(f);
	fsync(fileno(f));
	fclose(f);
}
