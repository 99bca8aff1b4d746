/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include "ipc.h"
#include "sandbox.h"
#include "state.h"

/* How long past a request's own deadline the network process may take to answer. */
#define AGENT_NET_GRACE_MS 5000

/* One request, as the root process asks for it. */
struct agent_call {
	const char *method, *path;
	const void *body;
	size_t body_len;
	long timeout_ms;
	size_t max_body, values_max;
	enum agent_ans_kind kind;
	const char *fields[AGENT_IPC_FIELDS_MAX + 1]; /* AGENT_ANS_FIELDS, NULL-ended */
};

/* Starts the network process and greets it with the server's URL and pin. */
int agent_net_start(struct agent *a, const struct agent_net_spawn *s, struct rp_diag *d);
/* Ends it (SIGKILL: it holds nothing worth a clean stop) and reaps it. */
void agent_net_stop(struct agent *a);

/*
 * Signs the request with the device key, has the network process send
 * it, and reads its answer. Returns the HTTP status (2xx), or the
 * request's failure (RP_E_HTTP with ans->status for another status,
 * RP_E_NET, RP_E_PIN, a delivery's parse error with ans->status 200...),
 * d saying why in the server's words. RP_E_IO when the network process
 * is gone, late past AGENT_NET_GRACE_MS, or broke the protocol: then
 * a->net_broken is set and the agent stops, executing nothing more.
 * ans is always to be released.
 */
int agent_net_call(struct agent *a, const struct agent_call *c, struct agent_answer *ans,
		   struct rp_diag *d);
/*
 * A POST of body (agent/run.c), whose answer's body is not read: the
 * status in *ret_status (if not NULL), agent_net_call's result returned
 * (RP_E_HTTP for a status that is not 2xx, d says what the server said).
 */
int agent_post_json(struct agent *a, const char *path, json_t *body, int *ret_status,
		    struct rp_diag *d);
