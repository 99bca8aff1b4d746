/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The agent's own log lines and security alerts. Everything the server
 * sent (reasons built from its answers, bodies, error messages) reaches
 * stderr and alerts.log only through rp_quote: one line per alert, no
 * control bytes. Alerts are rate-limited so that a server repeating the
 * same refused delivery cannot fill the disk, and alerts.log is rotated.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "rp_err.h"
#include "state.h"

void agent_log_line(const char *msg)
{
	char t[21], q[4 * RP_ALERT_LINE_MAX + 4];

	rp_time_format(rp_now(), t);
	rp_quote(q, sizeof(q), msg, strlen(msg));
	fprintf(stderr, "%s rampart-agent: %s\n", t, q);
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
	fprintf(stderr, "rampart-agent: %s\n", q);
}

void agent_alert_log(const struct agent *a, const char *id, const char *code, const char *reason)
{
	char path[600], old[608], t[21], line[RP_ALERT_LINE_MAX];
	/* Sized so that the line always fits: 20 + 131 + 131 + 3 spaces + '\n' < 320. */
	char qcode[4 * 32 + 4], qid[4 * 32 + 4], qr[RP_ALERT_LINE_MAX - 320];
	struct stat st;
	int n;

	rp_time_format(rp_now(), t);
	rp_quote(qcode, sizeof(qcode), code, strlen(code));
	rp_quote(qid, sizeof(qid), id[0] ? id : "-", id[0] ? strlen(id) : 1);
	rp_quote(qr, sizeof(qr), reason, strlen(reason));
	agent_logf("SECURITY ALERT: %s: command %s: %s", code, id[0] ? id : "(unparsed)", reason);
	n = snprintf(line, sizeof(line), "%s %s %s %s\n", t, qcode, qid, qr);
	if (n < 0 || (size_t)n >= sizeof(line))
		return; /* cannot happen: the fields are sized to fit */
	agent_path(a, path, sizeof(path), "alerts.log");
	/* Rotated, never truncated: the previous alerts stay in alerts.log.1. */
	if (lstat(path, &st) == 0 && (uint64_t)st.st_size + (uint64_t)n > a->alerts_max) {
		snprintf(old, sizeof(old), "%s.1", path);
		if (rename(path, old) != 0)
			agent_logf("rotating %s: %s", path, strerror(errno));
	}
	if (rp_append_line(path, line, (size_t)n, 0600, NULL) < 0)
		agent_logf("cannot write to %s", path);
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

size_t agent_alert(struct agent *a, int64_t now, const char *id, const char *code,
		   const char *reason, struct agent_alert_note out[2])
{
	struct agent_alert_window *w = NULL;
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
	if (w) {
		n += window_close(a, w, now, &out[n]);
	} else {
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
	return n;
}
