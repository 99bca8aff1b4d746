/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `rampart-agent status': this device's health from its own state, with
 * no server asked (docs/operating.md, "The agent's health"): what it is
 * and runs, how fresh its view of the log is, what waits to be sent, and
 * the alerts of the last day. Healthy (exit 0) unless its checkpoint is
 * older than the policy's freshness window, its root policy expires
 * within the warning period, it raised an alert in the last day (but
 * `interrupted', which is no server's doing),
 * results wait to be sent, or it was decommissioned (exit 1). For a
 * monitoring agent on the host, which should not have to trust the
 * server any more than the agent does.
 */
#include <dirent.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent.h"
#include "rp_err.h"
#include "upgrade.h"

#define STATUS_DAY_S 86400

/* alerts.log (and its rotated half) counted from since on (agent_alerts_tally). */
static void tally_file(const struct agent *a, const char *name, int64_t since,
		       struct agent_alert_tally *t)
{
	char path[700], *buf = NULL;
	size_t len = 0;

	agent_path(a, path, sizeof(path), name);
	if (rp_read_file_flags(path, RP_ALERTS_LOG_MAX + RP_ALERT_LINE_MAX, RP_FILE_NOFOLLOW, &buf,
			       &len, NULL) < 0)
		return;
	agent_alerts_tally(buf, len, since, t);
	free(buf);
}

static unsigned spooled(const struct agent *a)
{
	char path[700];
	struct dirent *e;
	unsigned n = 0;
	DIR *d;

	agent_path(a, path, sizeof(path), "spool");
	if (!(d = opendir(path)))
		return 0;
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

int agent_status(const char *dir, bool json)
{
	struct agent a;
	struct rp_diag d = {""};
	struct agent_alert_tally t = {.ncodes = 0};
	char installed[RP_RELEASE_VERSION_MAX + 1], newest[21] = "-", expires[21];
	const char *problems[8];
	size_t np = 0;
	int64_t now = rp_now(), age = -1;
	unsigned waiting;
	bool decommissioned;

	if (agent_load(&a, dir, &d) < 0) {
		fprintf(stderr, "rampart-agent status: loading state from %s: %s\n", dir, d.msg);
		agent_release(&a);
		return 2;
	}
	agent_upgrade_installed(&a, installed);
	tally_file(&a, "alerts.log.1", now - STATUS_DAY_S, &t);
	tally_file(&a, "alerts.log", now - STATUS_DAY_S, &t);
	waiting = spooled(&a);
	decommissioned = agent_decommissioned_before(&a);
	if (a.log.newest > 0) {
		rp_time_format(a.log.newest, newest);
		age = now - a.log.newest;
	}
	rp_time_format(a.policy->expires, expires);
	if (decommissioned)
		problems[np++] = "decommissioned: it refuses to run";
	/* none yet (a new device, a quiet log): the freeze alarm, an alert, says when it matters */
	if (age >= 0 && a.policy->freshness > 0 && age > a.policy->freshness)
		problems[np++] = "its newest cosigned checkpoint is older than the policy's "
				 "freshness: the server or the witnesses are not getting through";
	if (a.policy->expires - now < RP_POLICY_WARN_S)
		problems[np++] = "the root policy expires soon: administrators must sign the next";
	if (t.refusals)
		problems[np++] = "alerts in the last 24 h: deliveries that did not verify, which a "
				 "correct server never sends (alerts.log)";
	if (waiting)
		problems[np++] = "results wait to be sent: the server has not taken them";

	if (json) {
		json_t *codes = json_object(), *pr = json_array();
		for (size_t i = 0; i < t.ncodes; i++)
			json_object_set_new(codes, t.codes[i].code, json_integer(t.codes[i].n));
		for (size_t i = 0; i < np; i++)
			json_array_append_new(pr, json_string(problems[i]));
		json_t *o = json_pack(
			"{s:s, s:s, s:s, s:s, s:s?, s:I, s:s, s:{s:I, s:I, s:I, s:s?, s:I, s:I}, "
			"s:I, s:{s:I, s:I, s:o, s:s?}, s:b, s:b, s:o}",
			"device", a.conf.device, "org", a.conf.org, "server", a.api.http.url.base,
			"version", RP_VERSION, "installed_release", installed[0] ? installed : NULL,
			"policy_version", (json_int_t)a.policy->version, "policy_expires", expires,
			"log", "size", (json_int_t)a.log.size, "read", (json_int_t)a.scan.f.size,
			"last_acted", (json_int_t)a.log.last_index, "newest_cosignature",
			a.log.newest > 0 ? newest : NULL, "age_s", (json_int_t)age, "freshness_s",
			(json_int_t)a.policy->freshness, "results_waiting", (json_int_t)waiting,
			"alerts_24h", "total", (json_int_t)t.total, "security",
			(json_int_t)t.security, "by_code", codes, "last", t.last[0] ? t.last : NULL,
			"decommissioned", decommissioned, "healthy", np == 0, "problems", pr);
		if (o) {
			char *s = json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII);
			if (s)
				printf("%s\n", s);
			free(s);
		}
		json_decref(o);
	} else {
		printf("rampart-agent %s%s%s\n", RP_VERSION,
		       installed[0] ? ", release installed " : "", installed);
		printf("device   %s of org %s, server %s\n", a.conf.device, a.conf.org,
		       a.api.http.url.base);
		printf("policy   version %llu, expires %s\n", (unsigned long long)a.policy->version,
		       expires);
		printf("log      %llu entries, %llu read, last acted on %lld; newest cosignature %s",
		       (unsigned long long)a.log.size, (unsigned long long)a.scan.f.size,
		       (long long)a.log.last_index, newest);
		if (age >= 0)
			printf(" (%lld s ago; fresh for %lld s)", (long long)age,
			       (long long)a.policy->freshness);
		else
			printf(" (none yet)");
		printf("\nresults  %u waiting to be sent\n", waiting);
		printf("alerts   %u in the last 24 h, %u of them security alerts", t.total,
		       t.security);
		for (size_t i = 0; i < t.ncodes; i++)
			printf("%s%s %u", i ? ", " : " (", t.codes[i].code, t.codes[i].n);
		printf("%s\n", t.ncodes ? ")" : "");
		if (t.last[0])
			printf("         newest: %s\n", t.last);
		if (np == 0)
			printf("health   OK\n");
		for (size_t i = 0; i < np; i++)
			printf("%s %s\n", i ? "        " : "health   NOT OK:", problems[i]);
	}
	agent_release(&a);
	return np ? 1 : 0;
}
