/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * Calls to the Rampart API, authenticated by a signed request (the
 * caller's Ed25519 key) or, for read-only scripting, a bearer token.
 */

#include <jansson.h>

#include "client/httpc.h"
#include "note.h"
#include "signer.h"

struct rp_api {
	struct rp_https_client http;
	const struct rp_skey *key; /* signs requests when set */
	/* or this signer (lib/signer.h: the CLI's key file or ssh-agent key) */
	const struct rp_signer *signer;
	const char *bearer;         /* "Authorization: Bearer" otherwise */
	const char *extra_auth;     /* a whole Authorization value, e.g. "Bootstrap x" */
	struct rp_https_conn *conn; /* kept connection to reuse, or NULL */
	/* rp_api_call's cap on the values of an answer (rp_json_load); 0 means
	 * RP_JSON_VALUES_MAX. The byte cap is http.max_body. */
	size_t json_values_max;
};

/* Sends an authenticated request and returns the raw response. */
int rp_api_request(const struct rp_api *a, const char *method, const char *path, const void *body,
		   size_t body_len, struct rp_http_resp *ret, struct rp_diag *d);

/*
 * Sends the request; body may be NULL. On a 2xx response *ret_json is the
 * parsed body (or NULL for an empty one) and the status is returned; the
 * body is bounded by rp_json_load (RP_JSON_DEPTH_MAX, a->json_values_max)
 * before it is parsed. On any other status the server's error code and
 * message go into d as the server wrote them (whoever shows d escapes it:
 * the CLI's terminal filter, the agent's logs) and RP_E_HTTP is returned,
 * with *ret_status set when ret_status is non-NULL.
 */
int rp_api_call(const struct rp_api *a, const char *method, const char *path, json_t *body,
		json_t **ret_json, int *ret_status, struct rp_diag *d);
