/* SPDX-License-Identifier: Apache-2.0 */
/*
 * rampart-agent rekey: a new device key, bound to the current one by a
 * note both sign (lib/devkey.h), sent to the server signed by the current
 * key. The server takes the new key and refuses the old one from then on.
 *
 * On disk, in this order, so that a crash anywhere leaves a device that
 * still reaches its server: device.key.next and rekey.binding (the new key
 * and its binding), then the request, then the old key to device.key.prev,
 * the new one to device.key, and device.key.next removed. A second run
 * after a crash finds device.key.next and sends the same binding again:
 * signed by the new key when the server already took it (it answers as
 * for the first time), by the old one when it never did.
 *
 * The answer that the server took the key is the network process's word,
 * which a compromised one could forge: device.key.prev and rekey.binding
 * stay until the next rekey, which first asks whether the server knows the
 * current key, and tells it the binding again, signed by the previous key,
 * when it does not (confirm_last). A running agent picks the new key up at
 * its next request that the server refuses (agent_key_reload).
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
	int status = 0,
	    r = body ? agent_post_json(a, "/v1/agent/rekey", body, &status, d) : RP_E_NOMEM;

	json_decref(body);
	return r == RP_E_HTTP ? status : r;
}

/* send_binding signed by key k, a->key as it was after. */
static int send_as(struct agent *a, const struct rp_skey *k, const char *binding, struct rp_diag *d)
{
	struct rp_skey was = a->key;
	int st;

	a->key = *k;
	st = send_binding(a, binding, d);
	a->key = was;
	rp_skey_wipe(&was);
	return st;
}

/* The binding in path, read; it must bind old to new_pub for this device. */
static int binding_read(const struct agent *a, const char *path, const uint8_t old[32],
			const uint8_t new_pub[32], char **ret, size_t *ret_len, struct rp_diag *d)
{
	struct rp_devkey_binding b;
	int r = rp_read_file_flags(path, RP_DEVKEY_NOTE_MAX, RP_FILE_PRIVATE, ret, ret_len, d);

	if (r == 0 &&
	    (r = rp_devkey_verify(*ret, *ret_len, a->conf.org, a->conf.device, old, &b, d)) == 0 &&
	    sodium_memcmp(b.new_pub, new_pub, 32) != 0) {
		rp_diagf(d, "it binds another key");
		r = RP_E_KEY;
	}
	if (r < 0) {
		free(*ret);
		*ret = NULL;
	}
	return r;
}

/*
 * The last rekey, confirmed: device.key.prev and rekey.binding are kept
 * after it, because the answer that the server took the new key is only
 * the (untrusted) network process's word. Asked as the current key: the
 * server knows it, and the two files go. Refused: the server never took
 * it (a forged answer), so the binding goes again signed by the previous
 * key. 1 when that finished the last rekey (nothing more to do), 0 when it
 * was confirmed, < 0 when neither.
 */
static int confirm_last(struct agent *a, const char *prev_path, const char *bind_path,
			struct rp_diag *d)
{
	struct rp_skey prev;
	char *binding = NULL;
	size_t blen = 0;
	int st, r;

	if ((r = agent_key_read(prev_path, &prev, d)) < 0 ||
	    (r = binding_read(a, bind_path, prev.pub, a->key.pub, &binding, &blen, d)) < 0) {
		/* not a pair this agent left: nothing to confirm */
		rp_skey_wipe(&prev);
		unlink(prev_path);
		unlink(bind_path);
		return 0;
	}
	st = send_binding(a, binding, d);
	if (st == 401) {
		st = send_as(a, &prev, binding, d);
		r = st == 200 ? 1 : st < 0 ? st : RP_E_HTTP;
	} else {
		r = st == 200 ? 0 : st < 0 ? st : RP_E_HTTP;
	}
	if (r >= 0) {
		unlink(prev_path);
		unlink(bind_path);
	}
	rp_skey_wipe(&prev);
	free(binding);
	return r;
}

int agent_rekey(const char *dir, const char *net_user)
{
	struct agent a;
	struct rp_diag d = {""};
	struct rp_skey next, old;
	char next_path[600], bind_path[600], key_path[600], prev_path[600];
	char *binding = NULL, *keytext = NULL, *oldtext = NULL;
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
	agent_path(&a, prev_path, sizeof(prev_path), "device.key.prev");
	old = a.key;
	a.key_fixed = true;

	struct agent_net_spawn spawn = {
		.user = net_user ? net_user : AGENT_NET_USER_DEFAULT,
		.hide = a.dir,
	};
	if ((r = agent_net_start(&a, &spawn, &d)) < 0) {
		fprintf(stderr, "rampart-agent: %s\n", d.msg);
		goto out;
	}
	if (access(next_path, F_OK) == 0) {
		/* A run that stopped half way: the same key and binding again. */
		if ((r = agent_key_read(next_path, &next, &d)) == 0 &&
		    sodium_memcmp(next.pub, old.pub, 32) == 0) {
			/* it stopped after device.key was written: only the tidying is left */
			unlink(next_path);
			printf("device %s: an earlier rekey had finished; its key is %08x\n",
			       a.conf.device, next.id);
			rc = 0;
			goto out;
		}
		if (r == 0 && access(bind_path, F_OK) != 0) {
			/* it stopped before the binding was written: the server never saw it */
			unlink(next_path);
			rp_skey_wipe(&next);
		} else if (r < 0 || (r = binding_read(&a, bind_path, old.pub, next.pub, &binding,
						      &blen, &d)) < 0) {
			fprintf(stderr,
				"rampart-agent: an earlier rekey left %s and %s, but they do not "
				"go together (%s); remove both to start again\n",
				next_path, bind_path, d.msg);
			goto out;
		} else {
			resumed = true;
		}
	} else if (access(prev_path, F_OK) == 0) {
		if ((r = confirm_last(&a, prev_path, bind_path, &d)) < 0) {
			fprintf(stderr,
				"rampart-agent: the server neither knows the current key nor takes "
				"the last rekey again: %s; the device keeps its keys, run "
				"`rampart-agent rekey' again\n",
				d.msg);
			goto out;
		}
		if (r == 1) {
			printf("device %s: the server had not taken the last rekey; it has now, "
			       "and its key is %08x\n",
			       a.conf.device, old.id);
			rc = 0;
			goto out;
		}
	}
	if (!resumed) {
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

	st = RP_E_NOTFOUND;
	if (resumed) /* the server may hold the new key already: ask as it */
		st = send_as(&a, &next, binding, &d);
	if (st != 200)
		st = send_binding(&a, binding, &d);
	if (st != 200) {
		fprintf(stderr,
			"rampart-agent: the server did not take the new key: %s\n"
			"rampart-agent: the device keeps its key; run `rampart-agent rekey' again\n",
			d.msg);
		goto out;
	}
	/*
	 * The server holds the new key, says the network process: it becomes the
	 * device's, and the old one stays in device.key.prev with the binding,
	 * so that a forged answer cannot lock the device out (confirm_last).
	 */
	if ((!keytext && !(keytext = rp_skey_format(&next))) || !(oldtext = rp_skey_format(&old)) ||
	    (r = rp_write_file_atomic(prev_path, oldtext, strlen(oldtext), 0600)) < 0 ||
	    (r = rp_write_file_atomic(key_path, keytext, strlen(keytext), 0600)) < 0) {
		fprintf(stderr,
			"rampart-agent: the server took the new key, but it could not be saved: "
			"%s; run `rampart-agent rekey' again to finish\n",
			keytext && oldtext ? strerror(errno) : "out of memory");
		goto out;
	}
	unlink(next_path);
	printf("device %s re-keyed: its key is now %08x%s; the old one is refused from now on\n",
	       a.conf.device, next.id, resumed ? " (an earlier rekey finished)" : "");
	rc = 0;
	goto out;
nomem:
	fprintf(stderr, "rampart-agent: rekey: %s\n", rp_strerror(r));
out:
	agent_net_stop(&a);
	rp_skey_wipe(&next);
	rp_skey_wipe(&old);
	if (keytext) {
		sodium_memzero(keytext, strlen(keytext));
		free(keytext);
	}
	if (oldtext) {
		sodium_memzero(oldtext, strlen(oldtext));
		free(oldtext);
	}
	free(binding);
	agent_release(&a);
	return rc;
}
