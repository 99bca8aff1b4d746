/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The root process's side of the split (docs/privsep.md): it starts the
 * network process, signs each request with the device key (which never
 * leaves this process), hands it over, and reads back an answer in the
 * format of agent/ipc.h alone. Whatever the answer says is checked again
 * here: a delivery by rp_verify_delivery, a checkpoint by
 * rp_verify_checkpoint, exactly as if it came from the server.
 */
#include "privsep.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ipc.h"
#include "reqsig.h"
#include "rp_err.h"

int agent_net_start(struct agent *a, const struct agent_net_spawn *s, struct rp_diag *d)
{
	struct agent_hello h = {""};
	uint8_t *m;
	size_t n;
	int r;

	if ((r = agent_net_spawn(s, &a->net, d)) < 0)
		return r;
	a->net_broken = false;
	snprintf(h.url, sizeof(h.url), "%s", a->conf.server);
	memcpy(h.pin, a->api.http.pin, sizeof(h.pin));
	/* The newest root policy's server keys, when it names any, replace the enrolment's. */
	if (a->policy) {
		h.npins = (uint8_t)a->policy->npins;
		memcpy(h.pins, a->policy->pins, sizeof(h.pins));
	}
	h.unpinned = a->net_unpinned;
	a->net_npins = h.npins;
	memcpy(a->net_pins, h.pins, sizeof(a->net_pins));
	if ((r = agent_ipc_hello_encode(&h, &m, &n)) == 0) {
		r = agent_ipc_send(a->net.fd, m, n, agent_ipc_now_ms() + AGENT_NET_GRACE_MS, NULL,
				   d);
		free(m);
	}
	if (r < 0) {
		if (r != RP_E_IO)
			rp_diagf(d, "cannot greet the network process: %s", rp_strerror(r));
		agent_net_stop(a);
		return r;
	}
	return 0;
}

/*
 * What the network process wrote on its stderr, a line at a time, into
 * the agent's log, each quoted (agent_logf): at most 16 KiB a call, so a
 * chatty one stalls itself on a full pipe, never the root process.
 */
static ssize_t relay_log(struct agent *a)
{
	char buf[16384 + 1];
	ssize_t n;

	if (a->net.log_fd < 0 || (n = read(a->net.log_fd, buf, sizeof(buf) - 1)) <= 0)
		return 0;
	buf[n] = '\0';
	for (char *l = buf, *e; l < buf + n; l = e + 1) {
		if (!(e = memchr(l, '\n', (size_t)(buf + n - l))))
			e = buf + n;
		if (e > l)
			agent_logf("network process said: %.*s", (int)(e - l), l);
	}
	return n;
}

void agent_net_stop(struct agent *a)
{
	int st = 0;
	pid_t w = 0;

	relay_log(a);
	if (a->net.fd >= 0)
		close(a->net.fd);
	a->net.fd = -1;
	if (a->net.pid <= 0)
		return;
	/* The end of its channel ends it; a second at most, then SIGKILL. */
	for (int i = 0; i < 100 && (w = waitpid(a->net.pid, &st, WNOHANG)) == 0; i++) {
		struct timespec ts = {0, 10 * 1000000L};
		nanosleep(&ts, NULL);
	}
	if (w == 0) {
		kill(a->net.pid, SIGKILL);
		while ((w = waitpid(a->net.pid, &st, 0)) < 0 && errno == EINTR)
			;
	} else if (w > 0 && WIFSIGNALED(st)) {
		/* SIGSYS: its seccomp filter caught a system call it may not make */
		agent_logf("the network process was killed by signal %d%s", WTERMSIG(st),
			   WTERMSIG(st) == SIGSYS ? " (a system call its seccomp filter forbids)"
						  : "");
	} else if (w > 0 && WIFEXITED(st) && WEXITSTATUS(st) != 0) {
		agent_logf("the network process exited with status %d", WEXITSTATUS(st));
	}
	/* It is gone: the rest of what it said (a sanitizer's report, say), 64 KiB at most. */
	for (int i = 0; i < 4 && relay_log(a) > 0; i++)
		;
	if (a->net.log_fd >= 0)
		close(a->net.log_fd);
	a->net.log_fd = -1;
	a->net.pid = 0;
}

/* The channel failed or was abused: nothing more is read from it. */
static int broken(struct agent *a, struct rp_diag *d, const char *what, const char *why)
{
	char m[sizeof(d->msg)];

	snprintf(m, sizeof(m), "%s", why);
	relay_log(a); /* what it said before it broke */
	rp_diagf(d, "the network process %s: %s", what, m);
	snprintf(a->net_why, sizeof(a->net_why), "%s", d->msg);
	a->net_broken = true;
	return RP_E_IO;
}

int agent_net_call(struct agent *a, const struct agent_call *c, struct agent_answer *ans,
		   struct rp_diag *d)
{
	struct agent_request q;
	char ts[24], *sig = NULL;
	uint8_t *m = NULL;
	size_t n;
	int64_t now = rp_now(), deadline;
	int r;

	agent_answer_init(ans);
	if (a->net_broken || a->net.fd < 0) {
		rp_diagf(d, "the network process is gone");
		return RP_E_IO;
	}
	/* Trusting no key, it only reads what the root process verifies whoever sends it. */
	if (a->net_unpinned && c->kind != AGENT_ANS_CHECKPOINT && c->kind != AGENT_ANS_ENTRIES) {
		rp_diagf(d, "not asked over an unpinned connection: %s %s", c->method, c->path);
		return RP_E_PIN;
	}
	memset(&q, 0, sizeof(q));
	q.seq = ++a->net_seq;
	q.kind = (uint8_t)c->kind;
	snprintf(q.method, sizeof(q.method), "%s", c->method);
	if ((size_t)snprintf(q.path, sizeof(q.path), "%s", c->path) >= sizeof(q.path))
		return RP_E_TOOBIG;
	/* Enrolment has no device key yet: its proof is in the body. */
	if (a->key.name[0] == '\0')
		goto unsigned_;
	snprintf(ts, sizeof(ts), "%lld", (long long)now);
	if (!(sig = rp_reqsig_sign(&a->key, c->method, c->path, now, c->body, c->body_len)))
		return RP_E_NOMEM;
	q.nheaders = 3;
	snprintf(q.headers[0].name, sizeof(q.headers[0].name), "%s", RP_REQSIG_HDR_KEY);
	snprintf(q.headers[0].value, sizeof(q.headers[0].value), "%s", a->key.name);
	snprintf(q.headers[1].name, sizeof(q.headers[1].name), "%s", RP_REQSIG_HDR_TIME);
	snprintf(q.headers[1].value, sizeof(q.headers[1].value), "%s", ts);
	snprintf(q.headers[2].name, sizeof(q.headers[2].name), "%s", RP_REQSIG_HDR_SIG);
	snprintf(q.headers[2].value, sizeof(q.headers[2].value), "%s", sig);
	free(sig);
unsigned_:
	q.timeout_ms = (uint32_t)c->timeout_ms;
	q.max_body = (uint32_t)c->max_body;
	q.values_max = (uint32_t)c->values_max;
	for (q.nfields = 0; q.nfields < AGENT_IPC_FIELDS_MAX && c->fields[q.nfields]; q.nfields++)
		snprintf(q.fields[q.nfields], sizeof(q.fields[0]), "%s", c->fields[q.nfields]);
	q.body = (const uint8_t *)c->body;
	q.body_len = c->body_len;
	if ((r = agent_ipc_request_encode(&q, &m, &n)) < 0)
		return r;
	deadline = agent_ipc_now_ms() + c->timeout_ms + AGENT_NET_GRACE_MS;
	r = agent_ipc_send(a->net.fd, m, n, deadline, a->cancel, d);
	free(m);
	if (r == RP_E_NET && a->cancel && *a->cancel)
		return RP_E_NET; /* stopping */
	if (r < 0)
		return broken(a, d, "cannot be written to", d->msg);

	/* Its answer is due by the request's own deadline, and a little more. */
	if ((r = agent_ipc_recv(a->net.fd, deadline, a->cancel, &m, &n, d)) < 0) {
		if (r == RP_E_NET && a->cancel && *a->cancel)
			return RP_E_NET; /* stopping: the answer no longer matters */
		return broken(a, d, r == RP_E_NOTFOUND ? "is gone" : "did not answer", d->msg);
	}
	r = agent_ipc_answer_decode(m, n, &q, ans, d);
	free(m);
	relay_log(a);
	if (r < 0)
		return broken(a, d, "broke the protocol", d->msg);
	/* The key refused: `rampart-agent rekey' may have replaced it. */
	if (ans->status == 401)
		agent_key_reload(a);
	if (ans->r < 0) {
		rp_diagf(d, "%s", ans->msg);
		return ans->r;
	}
	/* Success is a 2xx status, whatever else the answer claims. */
	if (ans->status < 200 || ans->status > 299) {
		rp_diagf(d, "server answered %d: %s", ans->status, ans->msg);
		return RP_E_HTTP;
	}
	return ans->status;
}
