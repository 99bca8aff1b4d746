/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The agent's network process (docs/privsep.md): all TLS, HTTP and JSON
 * from the server is read here, by an unprivileged process that holds no
 * key and cannot open the agent's state. It answers the root process's
 * requests one at a time and decides nothing: what it makes of an answer
 * (a delivery's signed bytes, a checkpoint) is checked again by the root
 * process, which trusts none of it.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "agent.h"
#include "client/api.h"
#include "ipc.h"
#include "json.h"
#include "rp_err.h"
#include "sandbox.h"
#include "state.h"

struct net {
	struct rp_https_client http;
	struct rp_https_conn conn;
};

/* The server's error, as rp_api_call words it: "server answered 409 code: message". */
static void server_error(const struct rp_http_resp *resp, size_t values, struct agent_answer *a)
{
	json_t *j = NULL, *e;
	const char *code = NULL, *msg = NULL;

	if (resp->body_len > 0 &&
	    rp_json_load(resp->body, resp->body_len, RP_JSON_DEPTH_MAX, values, &j, NULL) == 0) {
		e = json_object_get(j, "error");
		code = json_string_value(json_object_get(e, "code"));
		msg = json_string_value(json_object_get(e, "message"));
	}
	if (code || msg) {
		snprintf(a->msg, sizeof(a->msg), "server answered %d %s%s%s", resp->status,
			 code ? code : "", msg ? ": " : "", msg ? msg : "");
	} else {
		/* Not our error format: the start of what it said, as text (the
		 * root process quotes it wherever it writes it). */
		int n = snprintf(a->msg, sizeof(a->msg), "server answered %d: ", resp->status);
		for (size_t i = 0; n > 0 && (size_t)n + 1 < sizeof(a->msg) && i < resp->body_len;
		     i++)
			a->msg[n++] = resp->body[i] ? resp->body[i] : '?';
		if (n > 0)
			a->msg[(size_t)n < sizeof(a->msg) ? n : (int)sizeof(a->msg) - 1] = '\0';
	}
	json_decref(j);
	a->r = RP_E_HTTP;
}

static void take_fields(const struct agent_request *q, const struct rp_http_resp *resp,
			struct agent_answer *a)
{
	struct rp_diag jd = {""};
	json_t *j = NULL;

	if (resp->body_len > 0 &&
	    rp_json_load(resp->body, resp->body_len, RP_JSON_DEPTH_MAX,
			 q->values_max ? q->values_max : RP_AGENT_ANSWER_VALUES_MAX, &j, &jd) < 0) {
		snprintf(a->msg, sizeof(a->msg),
			 "server answered %d with a body that is not bounded JSON: %.180s",
			 resp->status, jd.msg);
		a->r = RP_E_HTTP;
		return;
	}
	a->kind = AGENT_ANS_FIELDS;
	for (size_t i = 0; i < q->nfields; i++) {
		json_t *v = json_object_get(j, q->fields[i]);
		const char *s = json_string_value(v);
		size_t n = json_string_length(v);
		/* jansson refuses \u0000 by default; a value too long is absent */
		if (!s || n > AGENT_IPC_FIELD_VALUE_MAX || memchr(s, '\0', n))
			continue;
		if ((a->field[i] = malloc(n + 1))) {
			memcpy(a->field[i], s, n + 1);
			a->field_len[i] = n;
		}
	}
	json_decref(j);
}

static void do_request(struct net *n, const struct agent_request *q, struct agent_answer *a)
{
	struct rp_http_header h[AGENT_IPC_HEADERS_MAX];
	struct rp_http_req req = {
		.method = q->method,
		.path = q->path,
		.headers = h,
		.nheaders = q->nheaders,
		.body = q->body_len ? q->body : NULL,
		.body_len = q->body_len,
	};
	struct rp_http_resp resp = {0};
	struct rp_diag d = {""};
	int r;

	for (size_t i = 0; i < q->nheaders; i++)
		h[i] = (struct rp_http_header){q->headers[i].name, q->headers[i].value};
	n->http.timeout_ms = q->timeout_ms;
	n->http.max_body = q->max_body;
	a->seq = q->seq;
	a->kind = AGENT_ANS_STATUS;
	if ((r = rp_https_do_conn(&n->http, &n->conn, &req, &resp, &d)) < 0) {
		a->r = r;
		snprintf(a->msg, sizeof(a->msg), "%s", d.msg);
		goto out;
	}
	a->status = resp.status;
	if (resp.status < 200 || resp.status > 299) {
		server_error(&resp, q->values_max ? q->values_max : RP_AGENT_ANSWER_VALUES_MAX, a);
		goto out;
	}
	switch (q->kind) {
	case AGENT_ANS_FIELDS: take_fields(q, &resp, a); break;
	case AGENT_ANS_BYTES:
		if (resp.status != 200)
			break;
		if (!(a->dl.payload = malloc(resp.body_len + 1))) {
			a->r = RP_E_NOMEM;
			break;
		}
		memcpy(a->dl.payload, resp.body, resp.body_len);
		a->dl.payload_len = resp.body_len;
		a->kind = AGENT_ANS_BYTES;
		break;
	case AGENT_ANS_DELIVERY:
		if (resp.status != 200)
			break;
		r = rp_delivery_parse(resp.body, resp.body_len, &a->dl, &d);
		goto parsed;
	case AGENT_ANS_CHECKPOINT:
		if (resp.status != 200)
			break;
		r = rp_checkpoint_update_parse(resp.body, resp.body_len, &a->dl, &d);
		goto parsed;
	case AGENT_ANS_ENTRIES:
		if (resp.status != 200)
			break;
		r = rp_entries_parse(resp.body, resp.body_len, &a->ents, &d);
	parsed:
		if (r < 0) {
			a->r = r;
			snprintf(a->msg, sizeof(a->msg), "%s", d.msg);
			rp_delivery_release(&a->dl);
			rp_entries_release(&a->ents);
		} else {
			a->kind = q->kind;
		}
		break;
	default: break;
	}
out:
	rp_http_resp_release(&resp);
}

int agent_net_main(int fd, unsigned uid, unsigned gid, pid_t parent)
{
	struct agent_hello hello;
	struct net n;
	struct rp_diag d = {""};
	uint8_t *m = NULL, *out;
	size_t len, olen;
	int r;

	memset(&n, 0, sizeof(n));
	n.conn.fd = -1;
	/* The root process ends us (SIGKILL, or its death: PR_SET_PDEATHSIG). */
	signal(SIGTERM, SIG_IGN);
	signal(SIGINT, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	/*
	 * Its account, taken here and not before exec: the change of
	 * credentials leaves it non-dumpable, with no moment in which a
	 * process of that account could ptrace it. The parent's death signal
	 * does not survive the change: armed again, then checked.
	 */
	if (getuid() == 0 && uid != 0 && agent_sandbox_drop(uid, gid) != 0) {
		agent_logf("network process: cannot drop to uid %u: %s", uid, strerror(errno));
		return 1;
	}
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0 || getppid() != parent)
		return 1;
	if ((r = agent_sandbox_net_enter(fd, &d)) < 0) {
		agent_logf("network process: %s", d.msg);
		return 1;
	}
	if ((r = agent_ipc_recv(fd, 0, NULL, &m, &len, &d)) < 0 ||
	    (r = agent_ipc_hello_decode(m, len, &hello, &d)) < 0 ||
	    (r = rp_url_parse(hello.url, &n.http.url, &d)) < 0) {
		agent_logf("network process: no usable hello: %s", d.msg);
		free(m);
		return 1;
	}
	free(m);
	memcpy(n.http.pin, hello.pin, sizeof(n.http.pin));
	n.http.npins = hello.npins;
	n.http.any_key = hello.unpinned;
	memcpy(n.http.pins, hello.pins, sizeof(n.http.pins));

	for (;;) {
		struct agent_request q;
		struct agent_answer a;

		if ((r = agent_ipc_recv(fd, 0, NULL, &m, &len, &d)) < 0) {
			if (r != RP_E_NOTFOUND)
				agent_logf("network process: %s", d.msg);
			break;
		}
		if ((r = agent_ipc_request_decode(m, len, &q, &d)) < 0) {
			agent_logf("network process: refusing a request: %s", d.msg);
			free(m);
			break;
		}
		agent_answer_init(&a);
		do_request(&n, &q, &a);
		free(m);
		r = agent_ipc_answer_encode(&a, &out, &olen);
		agent_answer_release(&a);
		if (r < 0) {
			agent_logf("network process: cannot answer: %s", rp_strerror(r));
			break;
		}
		r = agent_ipc_send(fd, out, olen, 0, NULL, &d);
		free(out);
		if (r < 0)
			break;
	}
	rp_https_conn_close(&n.conn);
	return 0;
}
