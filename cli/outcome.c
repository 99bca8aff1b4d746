/* SPDX-License-Identifier: Apache-2.0 */
/*
 * What a command's results amount to (the exit status of `rampart
 * results'), why a target still waits, progress on a terminal, and the
 * terminal's width for tables. The outcome is judged only on what the CLI
 * verified (trust.c): a status the server claims without a device-signed
 * result never reads as success. The reasons for a wait name what the CLI
 * verified (the signatures) and, marked as such, what the server says (a
 * device's last poll, the log's witnesses).
 */
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "cli.h"
#include "rp_err.h"

/* A device's last poll older than this is called offline (agents long-poll about every 30 s). */
#define OFFLINE_S 120

bool cli_row_ok(const struct cli_row *x)
{
	return x->verified && x->res.status == RP_RESULT_DONE && x->res.exit_code == 0;
}

static bool now_open(const struct cli_view *v)
{
	return v->cmd && rp_now() < v->cmd->expires;
}

int cli_results_exit(const struct cli_view *v, const struct cli_row *x, size_t n)
{
	size_t ok = 0, failed = 0, waiting = 0, cancelled = 0;

	if (!v->cmd)
		return CLI_SECURITY;
	for (size_t i = 0; i < n; i++) {
		if (!x[i].verified && x[i].problem[0])
			return CLI_SECURITY; /* the server claims what it cannot prove */
		if (cli_row_ok(&x[i]))
			ok++;
		else if (!strcmp(x[i].status, "cancelled") || !strcmp(x[i].status, "rejected"))
			cancelled++; /* a verified cancel, or the device's signed `cancelled' */
		else if (cli_row_waiting(&x[i]))
			waiting++;
		else
			failed++; /* failed, refused, killed, timed-out, a non-zero exit, expired */
	}
	if (n == 0) /* a group, a tag or all, with no delivery yet: running nowhere so far */
		return cli_view_cancel_state(v) ? CLI_REFUSED
		       : now_open(v)            ? CLI_TIMEOUT
						: CLI_FAIL;
	if (cancelled && !ok && !failed && !waiting)
		return CLI_REFUSED; /* cancelled (or rejected) before it ran anywhere */
	failed += cancelled;
	if (failed)
		return ok || waiting ? CLI_PARTIAL : CLI_FAIL;
	return waiting ? CLI_TIMEOUT : CLI_OK;
}

/* The device's row in the server's list, or NULL. */
static json_t *device_of(json_t *devices, const char *id)
{
	json_t *d;
	size_t i;

	json_array_foreach (devices, i, d) {
		const char *s = json_string_value(json_object_get(d, "id"));
		if (s && !strcmp(s, id))
			return d;
	}
	return NULL;
}

void cli_view_awaiting(const struct cli_view *v, char *buf, size_t n)
{
	struct rp_sb sb;
	size_t k = 0;

	rp_sb_init(&sb, n);
	rp_sb_printf(&sb, "awaiting approvals: %zu of %u %s signatures", v->count, v->threshold,
		     rp_role_name(v->role));
	for (size_t i = 0; v->cmd && i < v->cmd->note->nsigs; i++)
		if (v->sig[i].verdict == RP_SIG_ROLE && v->sig[i].first)
			rp_sb_printf(&sb, "%s%s", k++ ? ", " : " (signed by ",
				     v->cmd->note->sigs[i].name);
	rp_sb_printf(&sb, "%s; %zu more of role %s", k ? ")" : "",
		     v->threshold > v->count ? v->threshold - v->count : 0, rp_role_name(v->role));
	snprintf(buf, n, "%s", sb.s && !sb.err ? sb.s : "awaiting approvals");
	rp_sb_release(&sb);
}

void cli_rows_why(struct cli *c, const struct cli_view *v, struct cli_row *x, size_t n,
		  json_t *devices)
{
	int64_t now = rp_now();
	int witnessed = -1; /* unknown until asked */

	for (size_t i = 0; i < n; i++) {
		x[i].why[0] = '\0';
		if (!cli_row_waiting(&x[i]) || !v->cmd)
			continue;
		if (!cli_view_approved(v)) {
			cli_view_awaiting(v, x[i].why, sizeof(x[i].why));
			continue;
		}
		if (now < v->cmd->not_before) {
			char t[21];
			rp_time_format(v->cmd->not_before, t);
			snprintf(x[i].why, sizeof(x[i].why), "not before %s (in %llds)", t,
				 (long long)(v->cmd->not_before - now));
			continue;
		}
		const char *ss =
			x[i].row ? json_string_value(json_object_get(x[i].row, "status")) : NULL;
		if (ss && (!strcmp(ss, "delivered") || !strcmp(ss, "running"))) {
			snprintf(x[i].why, sizeof(x[i].why),
				 "the server says: %s to the device, no result yet", ss);
			continue;
		}
		/* Approved and due, not handed over: in the witnessed log yet? */
		if (witnessed < 0) {
			char path[256];
			json_t *j = NULL;
			struct rp_diag d = {""};
			int st = 0;
			snprintf(path, sizeof(path), "/v1/orgs/%s/commands/%s/delivery", c->org,
				 v->cmd->id);
			witnessed = rp_api_call(&c->api, "GET", path, NULL, &j, &st, &d) >= 0 ? 1
				    : st == 404                                               ? 0
											      : 2;
			json_decref(j);
		}
		if (witnessed == 0) {
			snprintf(x[i].why, sizeof(x[i].why),
				 "the server says: not yet in a checkpoint the witnesses cosigned "
				 "(agents run only what they cosigned)");
			continue;
		}
		json_t *dev = device_of(devices, x[i].device);
		json_int_t seen = dev ? json_integer_value(json_object_get(dev, "last_seen")) : 0;
		if (!devices)
			snprintf(x[i].why, sizeof(x[i].why),
				 "the server says: not yet delivered to the device");
		else if (!dev)
			snprintf(x[i].why, sizeof(x[i].why),
				 "the server says: no such device is enrolled");
		else if (seen <= 0 || now - (int64_t)seen > OFFLINE_S)
			snprintf(x[i].why, sizeof(x[i].why),
				 "the server says: device offline (last seen %llds ago)",
				 seen > 0 ? (long long)(now - (int64_t)seen) : -1LL);
		else
			snprintf(x[i].why, sizeof(x[i].why),
				 "the server says: device online, not yet delivered");
	}
}

static bool progress_shown;

void cli_progress(const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	if (!isatty(STDERR_FILENO))
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* One terminal line, never wrapped: \r\033[K can clear only the line it is on. */
	struct winsize ws;
	size_t w = ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 1 ? ws.ws_col : 80;
	fputs("\r\033[K", stderr); /* the CLI's own escapes; msg through the filter */
	cli_cell(stderr, msg, w - 1);
	fflush(stderr);
	progress_shown = true;
}

void cli_progress_end(void)
{
	if (progress_shown)
		fputs("\r\033[K", stderr);
	progress_shown = false;
}

size_t cli_width(void)
{
	struct winsize ws;
	const char *e = getenv("COLUMNS");
	uint64_t v;

	if (!isatty(STDOUT_FILENO))
		return 0; /* a pipe or a file: nothing cut */
	if (e && rp_parse_u64(e, strlen(e), 10000, &v) == 0 && v > 0)
		return (size_t)v; /* as ls(1): $COLUMNS first */
	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
		return ws.ws_col;
	return 80;
}

size_t cli_rest(size_t used, size_t min)
{
	size_t w = cli_width();

	if (w == 0)
		return 0;
	return w > used + min ? w - used : min;
}
