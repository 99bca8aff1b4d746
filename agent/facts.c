/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The device's facts kept current (docs/formats.md "Device facts"):
 * hostname, OS, kernel, agent version and last boot, checked at start and
 * every AGENT_FACTS_INTERVAL_S; when any differs from what the server last
 * acknowledged (facts.sent), a new facts note signed by the device key goes
 * to POST /v1/agent/facts. The CLI verifies it as the device's word.
 *
 * RAMPART_AGENT_FACTS_HOSTNAME replaces the hostname, for tests only (a
 * test cannot rename the machine it runs on).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysinfo.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "agent.h"
#include "facts.h"
#include "privsep.h"
#include "rp_err.h"

#define SENT_FILE "facts.sent"

/* What this device says about itself now (time unset). */
static void facts_now(const struct agent *a, struct rp_facts *f)
{
	const char *h = getenv("RAMPART_AGENT_FACTS_HOSTNAME");
	struct utsname u;
	struct sysinfo si;

	memset(f, 0, sizeof(*f));
	snprintf(f->org, sizeof(f->org), "%s", a->conf.org);
	snprintf(f->device, sizeof(f->device), "%s", a->conf.device);
	if (h && *h)
		snprintf(f->hostname, sizeof(f->hostname), "%s", h);
	else if (gethostname(f->hostname, sizeof(f->hostname) - 1) != 0 || !f->hostname[0])
		snprintf(f->hostname, sizeof(f->hostname), "unknown");
	agent_os_name(f->os, (int)sizeof(f->os));
	snprintf(f->agent_version, sizeof(f->agent_version), "%s", RP_VERSION);
	if (uname(&u) == 0)
		snprintf(f->kernel, sizeof(f->kernel), "%.64s", u.release);
	/* to the minute: uptime and the clock drift apart by a second now and then */
	if (sysinfo(&si) == 0)
		f->booted = (rp_now() - si.uptime + 30) / 60 * 60;
}

void agent_facts_refresh(struct agent *a)
{
	struct rp_facts f;
	struct rp_diag d = {""};
	char path[600], *text = NULL, *sent = NULL, *note = NULL;
	size_t len, slen = 0, nlen;
	json_t *body = NULL;
	int status = 0, r;

	if (rp_now() < a->facts_due)
		return;
	a->facts_due = rp_now() + AGENT_FACTS_INTERVAL_S;
	facts_now(a, &f);
	if (!(text = rp_facts_format(&f, &len))) {
		agent_logf("facts: hostname `%.64s' or OS cannot be stated in a facts note",
			   f.hostname);
		return;
	}
	agent_path(a, path, sizeof(path), SENT_FILE);
	if (rp_read_file_flags(path, RP_FACTS_MAX, RP_FILE_NOFOLLOW, &sent, &slen, NULL) == 0 &&
	    slen == len && memcmp(sent, text, len) == 0)
		goto out; /* unchanged since the server took them */
	f.time = rp_now();
	char *stamped = rp_facts_format(&f, &nlen);
	if (!stamped || rp_note_sign(stamped, nlen, NULL, &a->key, &note, &nlen) < 0) {
		free(stamped);
		goto out;
	}
	free(stamped);
	body = json_pack("{s:s}", "facts", note);
	r = body ? agent_post_json(a, "/v1/agent/facts", body, &status, &d) : RP_E_NOMEM;
	if (r < 0 && r != RP_E_HTTP) {
		a->facts_due = rp_now() + 10; /* try again soon */
		goto out;
	}
	if (status / 100 != 2) {
		agent_logf("facts: the server answered %d: %s", status, d.msg);
		goto out;
	}
	if (rp_write_file_atomic(path, text, len, 0600) == 0)
		agent_logf("facts sent: hostname %s, %s, kernel %s", f.hostname, f.os, f.kernel);
out:
	json_decref(body);
	free(note);
	free(sent);
	free(text);
}
