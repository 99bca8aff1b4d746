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
				rp_diagf(
					d,
					"agent.conf: `%s' holds a byte that is not printable ASCII",
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

int agent_record_parse(const char *line, size_t llen, struct agent_record *ret)
{
	struct agent_record rec = {.mark = MARK_NONE};
	const char *m, *sp;
	size_t mlen;
	uint64_t t;

	/* "<id> <mark> <time>" */
	if (llen < RP_ID_HEX + 4 || line[RP_ID_HEX] != ' ' || !rp_id_valid(line, RP_ID_HEX))
		return RP_E_MALFORMED;
	m = line + RP_ID_HEX + 1;
	mlen = llen - RP_ID_HEX - 1;
	if (!(sp = memchr(m, ' ', mlen)))
		return RP_E_MALFORMED;
	if (rp_parse_u64(sp + 1, (size_t)(line + llen - sp - 1), INT64_MAX, &t) != 0)
		return RP_E_MALFORMED;
	mlen = (size_t)(sp - m);
	for (int k = MARK_STARTED; k <= MARK_REFUSED; k++)
		if (rp_memeq(m, mlen, mark_names[k]))
			rec.mark = (enum exec_mark)k;
	if (rec.mark == MARK_NONE)
		return RP_E_MALFORMED;
	memcpy(rec.id, line, RP_ID_HEX);
	rec.t = (int64_t)t;
	*ret = rec;
	return 0;
}

int agent_record_format(const struct agent_record *r, char *buf, size_t n)
{
	int k = snprintf(buf, n, "%s %s %lld\n", r->id, mark_names[r->mark], (long long)r->t);
	return k < 0 || (size_t)k >= n ? RP_E_TOOBIG : k;
}

/* FNV-1a of the id: ids are random hex, any spread will do. */
static size_t id_slot(const char *id, size_t cap)
{
	uint64_t h = 1469598103934665603u;

	for (size_t i = 0; i < RP_ID_HEX; i++)
		h = (h ^ (unsigned char)id[i]) * 1099511628211u;
	return (size_t)h & (cap - 1);
}

/* The record of id, or NULL. */
static struct agent_record *rec_find(const struct agent *a, const char *id)
{
	if (!a->index_cap)
		return NULL;
	for (size_t i = id_slot(id, a->index_cap);; i = (i + 1) & (a->index_cap - 1)) {
		uint32_t k = a->index[i];
		if (k == 0)
			return NULL;
		if (memcmp(a->recs[k - 1].id, id, RP_ID_HEX) == 0)
			return &a->recs[k - 1];
	}
}

/* Rebuilds the index for nrecs records, at least twice as many slots. */
static int index_rebuild(struct agent *a, size_t want)
{
	size_t cap = 64;
	uint32_t *ix;

	while (cap < 2 * want)
		cap *= 2;
	if (cap > UINT32_MAX || !(ix = calloc(cap, sizeof(*ix))))
		return RP_E_NOMEM;
	free(a->index);
	a->index = ix;
	a->index_cap = cap;
	for (size_t r = 0; r < a->nrecs; r++) {
		size_t i = id_slot(a->recs[r].id, cap);
		while (ix[i])
			i = (i + 1) & (cap - 1);
		ix[i] = (uint32_t)(r + 1);
	}
	return 0;
}

static int by_seq(const void *x, const void *y)
{
	const struct agent_record *a = x, *b = y;
	return a->seq < b->seq ? -1 : a->seq > b->seq;
}

/*
 * Keeps the newest refused_keep refused records and every other one, in
 * the order they were marked. Dropping refused ones is safe: an entry at or
 * below last-index is refused by log order, a refusal was for what the
 * statement says, so a new delivery of it is refused again, and a refused
 * record never stands for a command that started (marks only move forward).
 */
static int records_trim(struct agent *a)
{
	size_t drop, o = 0;

	qsort(a->recs, a->nrecs, sizeof(*a->recs), by_seq);
	drop = a->nrefused > a->refused_keep ? a->nrefused - a->refused_keep : 0;
	for (size_t i = 0; i < a->nrecs; i++) {
		if (drop > 0 && a->recs[i].mark == MARK_REFUSED) {
			drop--;
			a->nrefused--;
			continue;
		}
		a->recs[o++] = a->recs[i];
	}
	/* The file still holds what memory no longer does: agent_records_compact is due. */
	if (o < a->nrecs)
		a->exec_stale = true;
	a->nrecs = o;
	return index_rebuild(a, a->nrecs);
}

/* Sets id's mark in memory; later records win. */
static int rec_put(struct agent *a, const char *id, enum exec_mark m, int64_t t)
{
	struct agent_record *r = rec_find(a, id);

	if (r) {
		if (r->mark == MARK_REFUSED)
			a->nrefused--;
		if (m == MARK_REFUSED)
			a->nrefused++;
		r->mark = m;
		r->t = t;
		r->seq = ++a->seq;
		return 0;
	}
	if (a->nrecs == a->caprecs) {
		size_t nc = a->caprecs ? 2 * a->caprecs : 64;
		struct agent_record *p = realloc(a->recs, nc * sizeof(*p));
		if (!p)
			return RP_E_NOMEM;
		a->recs = p;
		a->caprecs = nc;
	}
	r = &a->recs[a->nrecs++];
	memcpy(r->id, id, RP_ID_HEX);
	r->id[RP_ID_HEX] = '\0';
	r->mark = m;
	r->t = t;
	r->seq = ++a->seq;
	a->nrefused += m == MARK_REFUSED;
	/* Refused records beyond twice the keep: the oldest go, bounding memory. */
	if (a->nrefused > 2 * a->refused_keep)
		return records_trim(a);
	if (2 * a->nrecs > a->index_cap)
		return index_rebuild(a, a->nrecs);
	size_t i = id_slot(r->id, a->index_cap);
	while (a->index[i])
		i = (i + 1) & (a->index_cap - 1);
	a->index[i] = (uint32_t)a->nrecs;
	return 0;
}

int agent_records_compact(struct agent *a)
{
	char path[600], line[RP_EXECUTED_LINE_MAX], *text;
	struct rp_sb sb;
	size_t len;
	int r;

	if ((r = records_trim(a)) < 0)
		return r;
	rp_sb_init(&sb, (a->nrecs + 1) * RP_EXECUTED_LINE_MAX);
	for (size_t i = 0; i < a->nrecs; i++) {
		int n = agent_record_format(&a->recs[i], line, sizeof(line));
		if (n > 0)
			rp_sb_put(&sb, line, (size_t)n);
	}
	if (!(text = rp_sb_take(&sb, &len)))
		return RP_E_NOMEM;
	agent_path(a, path, sizeof(path), "executed");
	r = rp_write_file_atomic(path, text, len, 0600);
	free(text);
	if (r < 0)
		return r;
	a->exec_lines = a->nrecs;
	a->exec_bytes = len;
	a->exec_stale = false;
	return 0;
}

/*
 * Grown: holds records that were dropped from memory (more than twice
 * refused_keep refusals), or twice the lines it needs (superseded marks,
 * junk, a torn line) once past compact_min. So the file stays within about
 * two lines per command run plus 2 * refused_keep refusals.
 */
static bool records_grown(const struct agent *a)
{
	return a->exec_stale || (a->exec_bytes > a->compact_min && a->exec_lines > 2 * a->nrecs);
}

/*
 * Reads executed a block at a time: its size is not capped, what it holds
 * in memory is (rec_put). A line longer than any record is junk up to its
 * '\n'; the last line without '\n' (a crash mid-append) is skipped.
 */
static int records_load(struct agent *a, struct rp_diag *d)
{
	char path[600], line[RP_EXECUTED_LINE_MAX], *buf = NULL;
	size_t llen = 0, bufsz = 64 * 1024;
	bool junk = false;
	int fd, r = 0;

	agent_path(a, path, sizeof(path), "executed");
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0 && errno == ENOENT)
		return 0;
	if (fd < 0 || !(buf = malloc(bufsz))) {
		r = fd < 0 ? RP_E_IO : RP_E_NOMEM;
		rp_diagf(d, "reading %s: %s", path, rp_strerror(r));
		goto out;
	}
	for (;;) {
		ssize_t k = read(fd, buf, bufsz);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			r = RP_E_IO;
			rp_diagf(d, "reading %s: %s", path, strerror(errno));
			goto out;
		}
		if (k == 0)
			break;
		a->exec_bytes += (uint64_t)k;
		for (ssize_t i = 0; i < k; i++) {
			struct agent_record rec;
			if (buf[i] != '\n') {
				if (llen < sizeof(line))
					line[llen++] = buf[i];
				else
					junk = true;
				continue;
			}
			a->exec_lines++;
			if (!junk && agent_record_parse(line, llen, &rec) == 0 &&
			    (r = rec_put(a, rec.id, rec.mark, rec.t)) < 0) {
				rp_diagf(d, "reading %s: %s", path, rp_strerror(r));
				goto out;
			}
			llen = 0;
			junk = false;
		}
	}
	if (llen > 0 || junk)
		a->exec_lines++; /* the torn last line: counted as junk to compact away */
	if (records_grown(a) && (r = agent_records_compact(a)) < 0)
		rp_diagf(d, "compacting %s: %s", path, rp_strerror(r));
out:
	free(buf);
	if (fd >= 0)
		close(fd);
	return r;
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
		rp_diagf(d,
			 "%s: %s (the file is written atomically: it was changed by hand or "
			 "damaged)",
			 path, pd.msg);
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
	snprintf(a->log.origin, sizeof(a->log.origin), "%s", cp->origin);
	return log_state_write(a);
}

int agent_log_begin(struct agent *a, const char *origin)
{
	a->log.size = 0;
	memset(a->log.root, 0, sizeof(a->log.root));
	a->log.last_index = -1;
	snprintf(a->log.origin, sizeof(a->log.origin), "%s", origin);
	return log_state_write(a);
}

int agent_log_acted(struct agent *a, int64_t index)
{
	int r;

	if (index <= a->log.last_index)
		return 0;
	a->log.last_index = index;
	if ((r = log_state_write(a)) == 0)
		agent_walk_prune(a); /* policies no entry still to come can need */
	return r;
}

int agent_key_read(const char *path, struct rp_skey *ret, struct rp_diag *d)
{
	char *buf = NULL;
	size_t len;
	int r = rp_read_file_flags(path, RP_KEYTEXT_MAX, RP_FILE_PRIVATE, &buf, &len, d);

	if (r < 0)
		return r; /* d names the file and why */
	r = rp_skey_parse(buf, len, ret, d);
	sodium_memzero(buf, len);
	free(buf);
	return r;
}

int agent_key_reload(struct agent *a)
{
	struct rp_diag d = {""};
	struct rp_skey k;
	char path[600];
	int r;

	if (!a->dir[0] || a->key.name[0] == '\0' || a->key_fixed)
		return 0;
	agent_path(a, path, sizeof(path), "device.key");
	if ((r = agent_key_read(path, &k, &d)) < 0)
		return r;
	if (strcmp(k.name, a->conf.device) != 0 || sodium_memcmp(k.pub, a->key.pub, 32) == 0) {
		rp_skey_wipe(&k);
		/* refused with the key a rekey made: it may never have reached the server */
		agent_path(a, path, sizeof(path), "device.key.prev");
		if (!a->key_hinted && access(path, F_OK) == 0) {
			a->key_hinted = true;
			agent_logf("the server refuses the device key that the last rekey made; "
				   "`rampart-agent rekey' tells it again if it never took it");
		}
		return 0;
	}
	rp_skey_wipe(&a->key);
	a->key = k;
	agent_logf(
		"device.key was replaced (rampart-agent rekey): signing with key %08x from now on",
		k.id);
	return 1;
}

int agent_load(struct agent *a, const char *dir, struct rp_diag *d)
{
	char path[600], *buf = NULL;
	size_t len;
	int r;

	memset(a, 0, sizeof(*a));
	a->net.fd = -1;
	a->net.log_fd = -1;
	a->refused_keep = RP_EXECUTED_REFUSED_KEEP;
	a->compact_min = RP_EXECUTED_COMPACT_MIN;
	a->alerts_max = RP_ALERTS_LOG_MAX;
	a->alert_window = RP_ALERT_WINDOW_S;
	if (strlen(dir) >= sizeof(a->dir)) {
		rp_diagf(d, "state directory path is too long");
		return RP_E_TOOBIG;
	}
	memcpy(a->dir, dir, strlen(dir) + 1);

	agent_path(a, path, sizeof(path), "agent.conf");
	if ((r = rp_read_file_flags(path, RP_AGENT_CONF_MAX, RP_FILE_NOFOLLOW, &buf, &len, NULL)) <
	    0) {
		rp_diagf(d, "reading %s: %s (is this device enrolled?)", path, rp_strerror(r));
		return r;
	}
	r = agent_conf_parse(buf, len, &a->conf, d);
	free(buf);
	buf = NULL;
	if (r < 0)
		return r;

	agent_path(a, path, sizeof(path), "device.key");
	if ((r = agent_key_read(path, &a->key, d)) < 0)
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
	a->api.http.timeout_ms = RP_AGENT_REQUEST_S * 1000L;
	a->api.http.max_body = RP_AGENT_ANSWER_MAX;
	a->api.json_values_max = RP_AGENT_ANSWER_VALUES_MAX;
	if ((r = log_state_load(a, d)) < 0 || (r = agent_walk_load(a, d)) < 0 ||
	    (r = agent_cancel_load(a, d)) < 0 || (r = agent_dir_load(a, d)) < 0)
		return r;
	/*
	 * A move to a new log writes scan.state, then log.state: a stop in
	 * between leaves log.state of the old log, which the new one starts
	 * from scratch instead (agent_log_begin).
	 */
	const char *origin = agent_log_policy(a)->wp.log.name;
	if (a->log.origin[0] && strcmp(a->log.origin, origin) != 0) {
		agent_logf("log.state is of log %s, not %s, the log this device reads now: "
			   "starting that log's state",
			   a->log.origin, origin);
		if ((r = agent_log_begin(a, origin)) < 0) {
			rp_diagf(d, "writing log.state: %s", rp_strerror(r));
			return r;
		}
	}
	return records_load(a, d);
}

void agent_release(struct agent *a)
{
	rp_https_conn_close(&a->conn);
	agent_walk_release(a); /* the kept policies, the newest among them */
	agent_cancel_release(a);
	agent_dir_release(a);
	rp_policy_free(a->policy);
	free(a->recs);
	free(a->index);
	rp_skey_wipe(&a->key);
	memset(a, 0, sizeof(*a));
}

enum exec_mark agent_mark_get(const struct agent *a, const char *id)
{
	const struct agent_record *r = strlen(id) == RP_ID_HEX ? rec_find(a, id) : NULL;

	return r ? r->mark : MARK_NONE;
}

static int mark_rank(enum exec_mark m)
{
	switch (m) {
	case MARK_REFUSED: return 1;
	case MARK_STARTED: return 2;
	case MARK_REPORTED: return 3;
	default: return 0;
	}
}

int agent_mark_set(struct agent *a, const char *id, enum exec_mark m)
{
	struct agent_record rec = {.mark = m, .t = rp_now()};
	char path[600], line[RP_EXECUTED_LINE_MAX];
	int n, r;

	if (strlen(id) != RP_ID_HEX || !rp_id_valid(id, RP_ID_HEX) || m == MARK_NONE)
		return RP_E_INVAL;
	/*
	 * Marks only move forward: none, refused, started, reported. The id of
	 * a refused statement is whatever its unverified text says, so a
	 * refusal must never replace the record of a command that ran (the
	 * server would log junk under that id, have it refused, flood
	 * refusals until it is trimmed, then deliver the real one again).
	 * Recorded once: a statement refused on every poll grows nothing.
	 */
	if (mark_rank(m) <= mark_rank(agent_mark_get(a, id)))
		return 0;
	memcpy(rec.id, id, RP_ID_HEX + 1);
	if ((n = agent_record_format(&rec, line, sizeof(line))) < 0)
		return n;
	agent_path(a, path, sizeof(path), "executed");
	if ((r = rp_append_line(path, line, (size_t)n, 0600, &a->exec_bytes)) < 0)
		return r;
	a->exec_lines++;
	if ((r = rec_put(a, id, m, rec.t)) < 0)
		return r;
	/* Recorded durably above; a failed compaction only leaves the file longer. */
	if (records_grown(a))
		agent_records_compact(a);
	return 0;
}

int agent_seen(void *arg, const char *id)
{
	enum exec_mark m = agent_mark_get(arg, id);

	return m == MARK_STARTED || m == MARK_REPORTED;
}
