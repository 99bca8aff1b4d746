/* SPDX-License-Identifier: Apache-2.0 */
/* Device key bindings and chains (lib/devkey.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "devkey.h"
#include "rp_err.h"

struct dev {
	char id[RP_ID_HEX + 1];
	struct rp_skey k[4];
	char *b[3];
	size_t blen[3];
};

/* Key k named id (NULL: the hash of its own public half, as at enrolment). */
static void key_as(struct rp_skey *k, const char *id)
{
	char own[RP_ID_HEX + 1];

	assert_int_equal(rp_skey_generate("device", k), 0);
	rp_device_id(k->pub, own);
	memset(k->name, 0, sizeof(k->name));
	memcpy(k->name, id ? id : own, RP_ID_HEX);
	k->id = rp_key_id(k->name, RP_ID_HEX, RP_KEY_ED25519, k->pub);
}

/* A device with keys k[0..3] and the bindings b[i] from k[i] to k[i + 1]. */
static void dev_make(struct dev *v)
{
	key_as(&v->k[0], NULL);
	memcpy(v->id, v->k[0].name, RP_ID_HEX + 1);
	for (int i = 1; i < 4; i++)
		key_as(&v->k[i], v->id);
	for (int i = 0; i < 3; i++)
		assert_int_equal(rp_devkey_bind("acme", v->id, &v->k[i], &v->k[i + 1],
						1796000000 + i, &v->b[i], &v->blen[i]),
				 0);
}

static void dev_free(struct dev *v)
{
	for (int i = 0; i < 3; i++)
		free(v->b[i]);
}

static void bind_and_verify(void **state)
{
	struct dev v;
	struct rp_devkey_binding b;
	struct rp_diag d = {""};

	(void)state;
	dev_make(&v);
	assert_int_equal(rp_devkey_verify(v.b[0], v.blen[0], "acme", v.id, v.k[0].pub, &b, &d), 0);
	assert_memory_equal(b.new_pub, v.k[1].pub, 32);
	assert_int_equal(b.time, 1796000000);
	/* from a key that is not the current one */
	assert_int_equal(rp_devkey_verify(v.b[1], v.blen[1], "acme", v.id, v.k[0].pub, &b, &d),
			 RP_E_KEY);
	assert_non_null(strstr(d.msg, "not the device's current one"));
	/* another org, another device */
	assert_int_equal(rp_devkey_verify(v.b[0], v.blen[0], "other", v.id, v.k[0].pub, &b, &d),
			 RP_E_KEY);
	assert_int_equal(rp_devkey_verify(v.b[0], v.blen[0], "acme",
					  "00000000000000000000000000000000", v.k[0].pub, &b, &d),
			 RP_E_KEY);
	dev_free(&v);
}

/* Each of the two signatures is needed; a changed text verifies by neither. */
static void both_keys_sign(void **state)
{
	struct dev v;
	struct rp_devkey_binding b;
	struct rp_diag d = {""};
	char *one = NULL, *text;
	size_t onelen, tlen;

	(void)state;
	dev_make(&v);
	tlen = (size_t)(strstr(v.b[0], "\n\n") - v.b[0]) + 1;
	text = strndup(v.b[0], tlen);
	assert_int_equal(rp_note_sign(text, tlen, NULL, &v.k[1], &one, &onelen), 0);
	assert_int_equal(rp_devkey_verify(one, onelen, "acme", v.id, v.k[0].pub, &b, &d),
			 RP_E_NOSIG);
	assert_non_null(strstr(d.msg, "not signed by the old key"));
	free(one);
	assert_int_equal(rp_note_sign(text, tlen, NULL, &v.k[0], &one, &onelen), 0);
	assert_int_equal(rp_devkey_verify(one, onelen, "acme", v.id, v.k[0].pub, &b, &d),
			 RP_E_NOSIG);
	assert_non_null(strstr(d.msg, "not signed by the new key"));
	free(one);
	/* a byte of the time changed under both signatures */
	one = strdup(v.b[0]);
	*strstr(one, "time 2026") = 'T';
	assert_true(rp_devkey_verify(one, onelen, "acme", v.id, v.k[0].pub, &b, &d) < 0);
	free(one);
	free(text);
	dev_free(&v);
}

static void chain(void **state)
{
	struct dev v;
	struct rp_diag d = {""};
	const char *b[3];
	uint8_t cur[32], keys[4][32];
	int64_t times[4];

	(void)state;
	dev_make(&v);
	for (int i = 0; i < 3; i++)
		b[i] = v.b[i];
	assert_int_equal(
		rp_devkey_chain("acme", v.id, v.k[0].pub, b, v.blen, 3, cur, keys, times, &d), 0);
	assert_memory_equal(cur, v.k[3].pub, 32);
	for (int i = 0; i < 4; i++)
		assert_memory_equal(keys[i], v.k[i].pub, 32);
	assert_int_equal(times[0], 0);
	assert_int_equal(times[3], 1796000002);
	/* none: the first key */
	assert_int_equal(
		rp_devkey_chain("acme", v.id, v.k[0].pub, b, v.blen, 0, cur, NULL, NULL, &d), 0);
	assert_memory_equal(cur, v.k[0].pub, 32);
	/* out of order, or with a gap */
	const char *swapped[2] = {v.b[1], v.b[0]};
	size_t sl[2] = {v.blen[1], v.blen[0]};
	assert_int_equal(
		rp_devkey_chain("acme", v.id, v.k[0].pub, swapped, sl, 2, cur, NULL, NULL, &d),
		RP_E_KEY);
	assert_non_null(strstr(d.msg, "binding 1 of 2"));
	const char *gap[2] = {v.b[0], v.b[2]};
	size_t gl[2] = {v.blen[0], v.blen[2]};
	assert_int_equal(rp_devkey_chain("acme", v.id, v.k[0].pub, gap, gl, 2, cur, NULL, NULL, &d),
			 RP_E_KEY);
	/* a first key that is not the device's */
	assert_int_equal(
		rp_devkey_chain("acme", v.id, v.k[1].pub, b, v.blen, 3, cur, NULL, NULL, &d),
		RP_E_KEY);
	assert_non_null(strstr(d.msg, "does not hash"));
	dev_free(&v);
}

/* k0 -> k1 -> k0: a retired key never becomes current again. */
static void retired_key_cannot_return(void **state)
{
	struct dev v;
	struct rp_diag d = {""};
	char *back;
	size_t backlen;
	uint8_t cur[32];

	(void)state;
	dev_make(&v);
	assert_int_equal(
		rp_devkey_bind("acme", v.id, &v.k[1], &v.k[0], 1796000009, &back, &backlen), 0);
	const char *b[2] = {v.b[0], back};
	size_t l[2] = {v.blen[0], backlen};
	assert_int_equal(rp_devkey_chain("acme", v.id, v.k[0].pub, b, l, 2, cur, NULL, NULL, &d),
			 RP_E_KEY);
	assert_non_null(strstr(d.msg, "brings back a retired key"));
	free(back);
	dev_free(&v);
}

/* One spelling of every field; nothing more, nothing less. */
static void strict_text(void **state)
{
	static const char good[] = "rampart/device-key/v1\norg acme\n"
				   "device 0123456789abcdef0123456789abcdef\n"
				   "old AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n"
				   "new AgAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n"
				   "time 2026-12-02T16:00:00Z\n";
	static const char *const bad[] = {
		/* the old key's base64 spelled another way (a last bit set) */
		"rampart/device-key/v1\norg acme\ndevice 0123456789abcdef0123456789abcdef\n"
		"old AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAB=\n"
		"new AgAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\ntime 2026-12-02T16:00:00Z\n",
		/* the same key twice */
		"rampart/device-key/v1\norg acme\ndevice 0123456789abcdef0123456789abcdef\n"
		"old AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n"
		"new AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\ntime 2026-12-02T16:00:00Z\n",
		/* a line more */
		"rampart/device-key/v1\norg acme\ndevice 0123456789abcdef0123456789abcdef\n"
		"old AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n"
		"new AgAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\ntime 2026-12-02T16:00:00Z\nx y\n",
		/* fields out of order */
		"rampart/device-key/v1\ndevice 0123456789abcdef0123456789abcdef\norg acme\n"
		"old AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n"
		"new AgAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\ntime 2026-12-02T16:00:00Z\n",
		/* a time with a fraction */
		"rampart/device-key/v1\norg acme\ndevice 0123456789abcdef0123456789abcdef\n"
		"old AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n"
		"new AgAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\ntime 2026-12-02T16:00:00.5Z\n",
		/* another version */
		"rampart/device-key/v2\norg acme\ndevice 0123456789abcdef0123456789abcdef\n"
		"old AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n"
		"new AgAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\ntime 2026-12-02T16:00:00Z\n",
	};
	struct rp_devkey_binding b;
	struct rp_diag d = {""};
	char *t;
	size_t len;

	(void)state;
	assert_int_equal(rp_devkey_parse_text(good, strlen(good), &b, &d), 0);
	t = rp_devkey_format(&b, &len);
	assert_non_null(t);
	assert_int_equal(len, strlen(good));
	assert_memory_equal(t, good, len);
	free(t);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_true(rp_devkey_parse_text(bad[i], strlen(bad[i]), &b, &d) < 0);
	/* over the cap */
	char *big = calloc(1, RP_DEVKEY_NOTE_MAX + 2);
	memset(big, 'a', RP_DEVKEY_NOTE_MAX + 1);
	assert_int_equal(rp_devkey_verify(big, RP_DEVKEY_NOTE_MAX + 1, "acme",
					  "0123456789abcdef0123456789abcdef", b.old_pub, &b, &d),
			 RP_E_TOOBIG);
	free(big);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(bind_and_verify), cmocka_unit_test(both_keys_sign),
		cmocka_unit_test(chain),           cmocka_unit_test(retired_key_cannot_return),
		cmocka_unit_test(strict_text),
	};
	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
