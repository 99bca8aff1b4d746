/* SPDX-License-Identifier: Apache-2.0 */
#include "client/api.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "reqsig.h"
#include "rp_err.h"
#include "rp_limits.h"

int rp_api_request(const struct rp_api *a, const char *method, const char *path, const void *body,
		   size_t body_len, struct rp_http_resp *ret, struct rp_diag *d)
{
	struct rp_http_header h[3];
	struct rp_http_req req = {
		.method = method, .path = path, .headers = h, .body = body, .body_len = body_len};
	char *sig = NULL, *auth = NULL, ts[24];
	int r;

	if (a->key || a->signer) {
		int64_t now = rp_now();
		snprintf(ts, sizeof(ts), "%lld", (long long)now);
		if (a->signer) {
			if ((r = rp_reqsig_sign_by(a->signer, method, path, now, body, body_len,
						   &sig, d)) < 0)
				return r;
		} else if (!(sig = rp_reqsig_sign(a->key, method, path, now, body, body_len))) {
			return RP_E_NOMEM;
		}
		h[0] = (struct rp_http_header){RP_REQSIG_HDR_KEY,
					       a->signer ? a->signer->vkey.name : a->key->name};
		h[1] = (struct rp_http_header){RP_REQSIG_HDR_TIME, ts};
		h[2] = (struct rp_http_header){RP_REQSIG_HDR_SIG, sig};
		req.nheaders = 3;
	} else if (a->bearer || a->extra_auth) {
		size_t n = 16 + strlen(a->bearer ? a->bearer : a->extra_auth);
		auth = malloc(n);
		if (!auth)
			return RP_E_NOMEM;
		snprintf(auth, n, "%s%s", a->bearer ? "Bearer " : "",
			 a->bearer ? a->bearer : a->extra_auth);
		h[0] = (struct rp_http_header){"Authorization", auth};
		req.nheaders = 1;
	}
	r = rp_https_do_conn(&a->http, a->conn, &req, ret, d);
	free(sig);
	free(auth);
	return r;
}

int rp_api_call(const struct rp_api *a, const char *method, const char *path, json_t *body,
		json_t **ret_json, int *ret_status, struct rp_diag *d)
{
	struct rp_http_resp resp = {0};
	struct rp_diag jd = {""};
	char *text = NULL;
	json_t *j = NULL;
	int r;

	if (body) {
		text = json_dumps(body, JSON_COMPACT);
		if (!text)
			return RP_E_NOMEM;
	}
	r = rp_api_request(a, method, path, text, text ? strlen(text) : 0, &resp, d);
	if (r < 0)
		goto out;
	if (ret_status)
		*ret_status = resp.status;
	if (resp.body_len > 0) {
		size_t vmax = a->json_values_max ? a->json_values_max : RP_JSON_VALUES_MAX;
		r = rp_json_load(resp.body, resp.body_len, RP_JSON_DEPTH_MAX, vmax, &j, &jd);
	}
	if (resp.status < 200 || resp.status > 299) {
		json_t *e = j ? json_object_get(j, "error") : NULL;
		const char *code = json_string_value(json_object_get(e, "code"));
		const char *msg = json_string_value(json_object_get(e, "message"));
		rp_diagf(d, "server answered %d %s%s%s", resp.status, code ? code : "",
			 msg ? ": " : "", msg ? msg : "");
		r = RP_E_HTTP;
		goto out;
	}
	if (resp.body_len > 0 && !j) {
		rp_diagf(d, "server answered %d with a body that is not bounded JSON: %s",
			 resp.status, jd.msg);
		r = RP_E_HTTP;
		goto out;
	}
	if (ret_json) {
		*ret_json = j;
		j = NULL;
	}
	r = resp.status;
out:
	json_decref(j);
	rp_http_resp_release(&resp);
	free(text);
	return r;
}
