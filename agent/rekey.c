/* SPDX-License-Identifier: Apache-2.0 */
/*
 * rampart-agent rekey: a new device key, bound to the current one by a
 * note both sign (lib/devkey.h), sent to the server signed by the current
 * key. The server takes the new key and refuses the old one from then on.
 *
 * On disk, in this order, so that a crash anywhere leaves a device that
 * still reaches its server: device.key.next and rekey.binding (the new key
 * and its binding), then the request, then device.key.next renamed over
 * device.key and rekey.binding removed. A second run after a crash finds
 * the pair and sends the same binding again: signed by the new key when
 * the server already took it (it answers as for the first time), by the
 * old one when it never did. A running agent picks the new key up at its
 * next request that the server refuses (agent_key_reload).
 */
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "agent.h"
#include "devkey.h"
#include "privsep.h"
#include "rp_err.h"
#include "sandbox.h"

/* POST /v1/agent/rekey with the binding, signed by a->key; the HTTP status or < 0. */
static int send_binding(struct agent *a, const char *binding, struct rp_diag *d)
{
	json_t *body = json_pack("{s:s}", "binding", binding);
	char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
	struct agent_answer ans;
	int r;

	json_decref(body);
	if (!text)
		return RP_E_NOMEM;
	struct agent_call c = {.method = "POST",
			       .path = "/v1/agent/rekey",
			       .body = text,
			       .body_len = strlen(text),
			       .timeout_ms = RP_AGENT_REQUEST_S * 1000L,
			       .max_body = RP_AGENT_ANSWER_MAX,
			       .values_max = RP_AGENT_ANSWER_VALUES_MAX,
			       .kind = AGENT_ANS_FIELDS,
			       .fields = {"device_id", NULL}};
	r = agent_net_call(a, &c, &ans, d);
	if (r == RP_E_HTTP)
		r = ans.status; /* d says what the server said */
	agent_answer_release(&ans);
	free(text);
	return r;
}

int agent_rekey(const char *dir, const char *net_user)
{
	struct agent a;
	struct rp_diag d = {""};
	struct rp_skey next, old;
	char next_path[600], bind_path[600], key_path[600], *binding = NULL, *keytext = NULL;
	size_t blen = 0;
	bool resumed = false;
	int r, st, rc = 1;

	memset(&next, 0, sizeof(next));
	memset(&old, 0, sizeof(old));
	if ((r = agent_load(&a, dir, &d)) < 0) {
		fprintf(stderr, "rampart-agent: loading state from %s: %s\n", dir, d.msg);
		agent_release(&a);
		return 1;
	}
	agent_path(&a, next_path, sizeof(next_path), "device.key.next");
	agent_path(&a, bind_path, sizeof(bind_path), "rekey.binding");
	agent_path(&a, key_path, sizeof(key_path), "device.key");
	old = a.key;
	a.key_fixed = true;

	if (access(next_path, F_OK) == 0) {
		/* A run that stopped half way: the same key and binding again. */
		struct rp_devkey_binding b;
		if ((r = agent_key_read(next_path, &next, &d)) == 0 &&
		    sodium_memcmp(next.pub, old.pub, 32) == 0) {
			/* it stopped after device.key was written: only the tidying is left */
			unlink(next_path);
			unlink(bind_path);
			printf("device %s: an earlier rekey had finished; its key is %08x\n",
			       a.conf.device, next.id);
			rc = 0;
			goto out;
		}
		if (r < 0 ||
		    (r = rp_read_file_flags(bind_path, RP_DEVKEY_NOTE_MAX, RP_FILE_PRIVATE,
					    &binding, &blen, &d)) < 0 ||
		    (r = rp_devkey_verify(binding, blen, a.conf.org, a.conf.device, old.pub, &b,
					  &d)) < 0 ||
		    sodium_memcmp(b.new_pub, next.pub, 32) != 0) {
			fprintf(stderr,
				"rampart-agent: an earlier rekey left %s and %s, but they do not "
				"go together (%s); remove both to start again\n",
				next_path, bind_path, r < 0 ? d.msg : "another key");
			goto out;
		}
		resumed = true;
	} else {
		if ((r = rp_skey_generate("device", &next)) < 0)
			goto nomem;
		memset(next.name, 0, sizeof(next.name));
		memcpy(next.name, a.conf.device, RP_ID_HEX);
		next.id = rp_key_id(next.name, RP_ID_HEX, RP_KEY_ED25519, next.pub);
		if ((r = rp_devkey_bind(a.conf.org, a.conf.device, &old, &next, rp_now(), &binding,
					&blen)) < 0 ||
		    !(keytext = rp_skey_format(&next)))
			goto nomem;
		if ((r = rp_write_file_atomic(next_path, keytext, strlen(keytext), 0600)) < 0 ||
		    (r = rp_write_file_atomic(bind_path, binding, blen, 0600)) < 0) {
			fprintf(stderr, "rampart-agent: writing the new key: %s\n", rp_strerror(r));
			goto out;
		}
	}

	struct agent_net_spawn spawn = {
		.user = net_user ? net_user : AGENT_NET_USER_DEFAULT,
		.hide = a.dir,
	};
	if ((r = agent_net_start(&a, &spawn, &d)) < 0) {
		fprintf(stderr, "rampart-agent: %s\n", d.msg);
		goto out;
	}
	st = RP_E_NOTFOUND;
	if (resumed) {
		/* the server may hold the new key already: ask as it */
		a.key = next;
		st = send_binding(&a, binding, &d);
		a.key = old;
	}
	if (st != 200)
		st = send_binding(&a, binding, &d);
	agent_net_stop(&a);
	if (st != 200) {
		fprintf(stderr,
			"rampart-agent: the server did not take the new key: %s\n"
			"rampart-agent: the device keeps its key; run `rampart-agent rekey' again\n",
			d.msg);
		goto out;
	}
	/* The server holds the new key: it becomes the device's. */
	if ((!keytext && !(keytext = rp_skey_format(&next))) ||
	    (r = rp_write_file_atomic(key_path, keytext, strlen(keytext), 0600)) < 0) {
		fprintf(stderr,
			"rampart-agent: the server took the new key, but %s could not be written: "
			"%s; run `rampart-agent rekey' again to finish\n",
			key_path, keytext ? strerror(errno) : "out of memory");
		goto out;
	}
	unlink(next_path);
	unlink(bind_path);
	printf("device %s re-keyed: its key is now %08x%s; the old one is refused from now on\n",
	       a.conf.device, next.id, resumed ? " (an earlier rekey finished)" : "");
	rc = 0;
	goto out;
nomem:
	fprintf(stderr, "rampart-agent: rekey: %s\n", rp_strerror(r));
out:
	rp_skey_wipe(&next);
	rp_skey_wipe(&old);
	if (keytext) {
		sodium_memzero(keytext, strlen(keytext));
		free(keytext);
	}
	free(binding);
	agent_release(&a);
	return rc;
}
