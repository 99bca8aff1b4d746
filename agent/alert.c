/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The agent's own log lines and security alerts. Everything the server
 * sent (reasons built from its answers, bodies, error messages) reaches
 * stderr and alerts.log only through rp_quote: one line per alert, no
 * control bytes. Alerts are rate-limited so that a server repeating the
 * same refused delivery, or logging junk under ever new ids, cannot fill
 * the disk or rotate the history away; alerts.log is rotated, and the
 * alerts about the log and the root of trust are kept in security.log,
 * which no flood of other alerts rotates. Each alert also goes to the
 * host's syslog (authpriv; alert for the log and root of trust, warning
 * for a refused statement), where the host's own log shipping picks it up
 * whatever the server does. Under journald (JOURNAL_STREAM names our
 * stderr) lines carry the sd-daemon priority prefix and no timestamp of
 * ours: journald stamps them.
 */
#include <errno.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <syslog.h>

#include "rp_err.h"
#include "state.h"

static void log_at(int prio, const char *msg)
{
	char t[21], q[4 * RP_ALERT_LINE_MAX + 4];

	rp_quote(q, sizeof(q), msg, strlen(msg));
	if (rp_log_to_journal()) {
		fprintf(stderr, "<%d>rampart-agent: %s\n", prio, q);
		return;
	}
	rp_time_format(rp_now(), t);
	fprintf(stderr, "%s rampart-agent: %s\n", t, q);
}

void agent_log_line(const char *msg)
{
	log_at(LOG_INFO, msg);
}

void agent_logf(const char *fmt, ...)
{
	char msg[RP_ALERT_LINE_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	agent_log_line(msg);
}

void agent_errf(const char *fmt, ...)
{
	char msg[RP_ALERT_LINE_MAX], q[4 * RP_ALERT_LINE_MAX + 4];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	rp_quote(q, sizeof(q), msg, strlen(msg));
	fprintf(stderr, "%srampart-agent: %s\n", rp_log_prio(LOG_ERR), q);
}

bool agent_alert_security(const char *code)
{
	/* What agent/run.c refusal_code() maps the log's and the policy's
	 * refusals to, and its own freeze and expiry alerts. Refusals of one
	 * statement (signatures, org, target, time, replay, payload, kind,
	 * malformed) are junk a breached server makes at will: not here. */
	static const char *const security[] = {
		"not-in-log",
		"log-proof",
		"log-rollback",
		"log-fork",
		"witness-quorum",
		"stale-checkpoint",
		"bad-checkpoint",
		"freeze",
		"policy-expired",
		"policy-expiring",
		/* the walk through the log (agent/walk.c): entries withheld or not the
		 * log's, and root policies in it that do not count */
		"log-walk",
		"policy-refused",
		"policy-skipped",
		"policy-replayed",
		/* a log key rotation: entries after the policy that ended a log, and a
		 * server that says a retired log is done while it owes this device */
		"log-retired",
		"log-withheld",
		/* directory statements signed by a quorum that fork or break the directory's
		 * chain (agent/directory.c); one below quorum is directory-refused, like junk */
		"directory-fork",
		"directory-chain",
		/* a server TLS key that no pin and no root policy names */
		"server-key",
		/* the agent's network process died, hung or broke its protocol */
		"network-process",
	};

	for (size_t i = 0; i < sizeof(security) / sizeof(security[0]); i++)
		if (strcmp(code, security[i]) == 0)
			return true;
	return false;
}

/* Appends line to the state file name, rotated to name.1 first past a->alerts_max. */
static void append_rotated(const struct agent *a, const char *name, const char *line, size_t n)
{
	char path[600], old[608];
	struct stat st;

	agent_path(a, path, sizeof(path), name);
	/* Rotated, never truncated: the previous alerts stay in <name>.1. */
	if (lstat(path, &st) == 0 && (uint64_t)st.st_size + (uint64_t)n > a->alerts_max) {
		snprintf(old, sizeof(old), "%s.1", path);
		if (rename(path, old) != 0)
			agent_logf("rotating %s: %s", path, strerror(errno));
	}
	if (rp_append_line(path, line, n, 0600, NULL) < 0)
		agent_logf("cannot write to %s", path);
}

void agent_alert_log(const struct agent *a, const char *id, const char *code, const char *reason)
{
	char t[21], line[RP_ALERT_LINE_MAX];
	/* Sized so that the line always fits: 20 + 131 + 131 + 3 spaces + '\n' < 320. */
	char qcode[4 * 32 + 4], qid[4 * 32 + 4], qr[RP_ALERT_LINE_MAX - 320];
	int n;

	rp_time_format(rp_now(), t);
	rp_quote(qcode, sizeof(qcode), code, strlen(code));
	rp_quote(qid, sizeof(qid), id[0] ? id : "-", id[0] ? strlen(id) : 1);
	rp_quote(qr, sizeof(qr), reason, strlen(reason));
	int prio = agent_alert_security(code) ? LOG_ALERT : LOG_WARNING;
	char msg[RP_ALERT_LINE_MAX];
	snprintf(msg, sizeof(msg), "SECURITY ALERT: %s: command %s: %s", code,
		 id[0] ? id : "(unparsed)", reason);
	log_at(prio, msg);
	/* the same alert, escaped, to the host's syslog: not through the server */
	static bool opened;
	if (!opened) {
		openlog("rampart-agent", LOG_PID, LOG_AUTHPRIV);
		opened = true;
	}
	syslog(LOG_AUTHPRIV | prio, "SECURITY ALERT: %s: command %s: %s", qcode, qid, qr);
	n = snprintf(line, sizeof(line), "%s %s %s %s\n", t, qcode, qid, qr);
	if (n < 0 || (size_t)n >= sizeof(line))
		return; /* cannot happen: the fields are sized to fit */
	append_rotated(a, "alerts.log", line, (size_t)n);
	if (agent_alert_security(code))
		append_rotated(a, "security.log", line, (size_t)n);
}

static void note_set(struct agent_alert_note *n, const char *id, const char *code,
		     const char *reason)
{
	snprintf(n->id, sizeof(n->id), "%s", id);
	snprintf(n->code, sizeof(n->code), "%s", code);
	snprintf(n->reason, sizeof(n->reason), "%s", reason);
}

/* Writes w's summary when it suppressed alerts: 1 and the note to report, else 0. */
static size_t window_close(struct agent *a, const struct agent_alert_window *w, int64_t now,
			   struct agent_alert_note *out)
{
	char reason[160];

	if (w->suppressed == 0)
		return 0;
	snprintf(reason, sizeof(reason),
		 "%llu more alerts like this were suppressed in the last %lld s",
		 (unsigned long long)w->suppressed, (long long)(now - w->start));
	agent_alert_log(a, w->id, w->code, reason);
	note_set(out, w->id, w->code, reason);
	return 1;
}

/*
 * The bit of id in a code's flood count, by a hash keyed once per process
 * (the agent is one thread): the server, which chooses the ids, cannot aim
 * them at one bit to make a flood look like few statements.
 */
static unsigned seen_bit(const char *id)
{
	static unsigned char key[crypto_shorthash_KEYBYTES];
	static bool keyed;
	unsigned char h[crypto_shorthash_BYTES];

	if (!keyed) {
		randombytes_buf(key, sizeof(key));
		keyed = true;
	}
	crypto_shorthash(h, (const unsigned char *)id, strlen(id), key);
	return ((unsigned)h[0] | (unsigned)h[1] << 8) % RP_ALERT_SEEN_BITS;
}

/*
 * code's window across statements at now: the open one, a passed one that
 * counted a flood (agent_alert_flush closes it), or a new one; NULL when
 * RP_ALERT_CODES_MAX codes have one (the statement's own window still
 * limits its alerts).
 */
static struct agent_alert_code *code_window(struct agent *a, int64_t now, const char *code)
{
	struct agent_alert_code *c = NULL;

	for (size_t i = 0; i < a->ncodes && !c; i++)
		if (strcmp(a->alert_codes[i].code, code) == 0)
			c = &a->alert_codes[i];
	if (c && (now - c->start < c->span || c->suppressed > 0))
		return c;
	if (!c) {
		if (a->ncodes == RP_ALERT_CODES_MAX)
			return NULL;
		c = &a->alert_codes[a->ncodes++];
		snprintf(c->code, sizeof(c->code), "%s", code);
	}
	c->start = now;
	c->span = a->alert_window;
	c->keys = 0;
	c->suppressed = 0;
	memset(c->seen, 0, sizeof(c->seen));
	return c;
}

/*
 * Writes the count of a code's flood (c->suppressed > 0) and returns its
 * note in out. The flood is taken to go on: the next window is twice as
 * long (up to RP_ALERT_FLOOD_SPAN_MAX) and writes one statement's alert
 * before it counts, so a flood that lasts writes fewer lines each day.
 */
static size_t code_close(struct agent *a, struct agent_alert_code *c, int64_t now,
			 struct agent_alert_note *out)
{
	char reason[256];
	unsigned distinct = 0;
	int64_t max = a->alert_window > RP_ALERT_FLOOD_SPAN_MAX ? a->alert_window
								: RP_ALERT_FLOOD_SPAN_MAX;

	for (size_t i = 0; i < RP_ALERT_SEEN_BITS / 64; i++)
		distinct += (unsigned)__builtin_popcountll(c->seen[i]);
	snprintf(reason, sizeof(reason),
		 "%llu more alerts with this code, for at least %u distinct statements, were "
		 "suppressed in the last %lld s (more statements than %d in one window: "
		 "counted, not written one by one)",
		 (unsigned long long)c->suppressed, distinct, (long long)(now - c->start),
		 RP_ALERT_CODE_KEYS);
	agent_alert_log(a, "", c->code, reason);
	note_set(out, "", c->code, reason);
	c->start = now;
	c->span = c->span > max / 2 ? max : 2 * c->span;
	c->keys = RP_ALERT_CODE_KEYS - 1;
	c->suppressed = 0;
	memset(c->seen, 0, sizeof(c->seen));
	return 1;
}

size_t agent_alert(struct agent *a, int64_t now, const char *id, const char *code,
		   const char *reason, struct agent_alert_note out[2])
{
	struct agent_alert_window *w = NULL;
	struct agent_alert_code *c;
	size_t n = 0;

	for (size_t i = 0; i < a->nalerts; i++) {
		if (strcmp(a->alerts[i].id, id) == 0 && strcmp(a->alerts[i].code, code) == 0) {
			w = &a->alerts[i];
			break;
		}
	}
	if (w && now - w->start < a->alert_window) {
		w->suppressed++;
		return 0;
	}
	c = code_window(a, now, code);
	if (w)
		n += window_close(a, w, now, &out[n]);
	if (c && c->keys >= RP_ALERT_CODE_KEYS) {
		/* A flood of statements: the code is the key; none gets a window of its own. */
		unsigned bit = seen_bit(id);
		if (w)
			*w = a->alerts[--a->nalerts];
		c->suppressed++;
		c->seen[bit / 64] |= 1ull << (bit % 64);
		return n;
	}
	if (c)
		c->keys++;
	if (!w) {
		if (a->nalerts == RP_ALERT_KEYS_MAX) {
			/* Room for a new key: the window that opened first closes early. */
			size_t old = 0;
			for (size_t i = 1; i < a->nalerts; i++)
				if (a->alerts[i].start < a->alerts[old].start)
					old = i;
			n += window_close(a, &a->alerts[old], now, &out[n]);
			a->alerts[old] = a->alerts[--a->nalerts];
		}
		w = &a->alerts[a->nalerts++];
		snprintf(w->id, sizeof(w->id), "%s", id);
		snprintf(w->code, sizeof(w->code), "%s", code);
	}
	w->start = now;
	w->suppressed = 0;
	agent_alert_log(a, id, code, reason);
	note_set(&out[n++], id, code, reason);
	return n;
}

size_t agent_alert_flush(struct agent *a, int64_t now, struct agent_alert_note *out, size_t max)
{
	size_t n = 0;

	for (size_t i = 0; i < a->nalerts;) {
		struct agent_alert_window *w = &a->alerts[i];
		if (now - w->start < a->alert_window || n == max) {
			i++;
			continue;
		}
		n += window_close(a, w, now, &out[n]);
		*w = a->alerts[--a->nalerts];
	}
	for (size_t i = 0; i < a->ncodes;) {
		struct agent_alert_code *c = &a->alert_codes[i];
		if (now - c->start < c->span || n == max) {
			i++;
		} else if (c->suppressed > 0) {
			n += code_close(a, c, now, &out[n]);
			i++;
		} else {
			*c = a->alert_codes[--a->ncodes];
		}
	}
	return n;
}

void agent_alerts_tally(const char *buf, size_t len, int64_t since, struct agent_alert_tally *t)
{
	for (const char *p = buf, *end = buf + len; p < end;) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
		const char *sp = memchr(p, ' ', n), *sp2 = NULL;
		int64_t at;

		if (sp && rp_time_parse(p, (size_t)(sp - p), &at) == 0 && at >= since)
			sp2 = memchr(sp + 1, ' ', n - (size_t)(sp + 1 - p));
		if (sp2 && sp2 > sp + 1 && (size_t)(sp2 - sp - 1) <= RP_ALERT_CODE_MAX) {
			size_t cl = (size_t)(sp2 - sp - 1), i;
			char code[RP_ALERT_CODE_MAX + 1];
			memcpy(code, sp + 1, cl);
			code[cl] = '\0';
			t->total++;
			t->security += agent_alert_security(code);
			/* every alert but `interrupted' is something a correct server never causes
			 */
			t->refusals += strcmp(code, "interrupted") != 0;
			for (i = 0; i < t->ncodes && strcmp(t->codes[i].code, code); i++)
				;
			if (i == t->ncodes && t->ncodes < AGENT_TALLY_CODES_MAX)
				memcpy(t->codes[t->ncodes++].code, code, cl + 1);
			if (i < t->ncodes)
				t->codes[i].n++;
			else
				t->other_codes++;
			size_t keep = n < sizeof(t->last) - 1 ? n : sizeof(t->last) - 1;
			memcpy(t->last, p, keep);
			t->last[keep] = '\0';
		}
		p += n + 1;
	}
}
