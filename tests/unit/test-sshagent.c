/* SPDX-License-Identifier: Apache-2.0 */
/*
 * lib/sshagent.c, the ssh-agent protocol client, over buffers and over a
 * socketpair standing for the agent; lib/signer.c, which verifies every
 * signature a signer returns.
 */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "helpers.h"
#include "reqsig.h"
#include "signer.h"
#include "sshagent.h"

/* A message being built, as an agent would write it. */
struct msg {
	uint8_t b[8192];
	size_t n;
};

static void put_u8(struct msg *m, uint8_t v)
{
	assert_true(m->n < sizeof(m->b));
	m->b[m->n++] = v;
}

static void put_u32(struct msg *m, uint32_t v)
{
	put_u8(m, (uint8_t)(v >> 24));
	put_u8(m, (uint8_t)(v >> 16));
	put_u8(m, (uint8_t)(v >> 8));
	put_u8(m, (uint8_t)v);
}

static void put_bytes(struct msg *m, const void *p, size_t n)
{
	assert_true(n <= sizeof(m->b) - m->n);
	memcpy(m->b + m->n, p, n);
	m->n += n;
}

static void put_str(struct msg *m, const void *p, size_t n)
{
	put_u32(m, (uint32_t)n);
	put_bytes(m, p, n);
}

static void put_cstr(struct msg *m, const char *s)
{
	put_str(m, s, strlen(s));
}

/* m's bytes as one string of another message. */
static void put_msg(struct msg *into, const struct msg *m)
{
	put_str(into, m->b, m->n);
}

static void ed25519_blob(struct msg *m, const uint8_t pub[32])
{
	m->n = 0;
	put_cstr(m, RP_SSH_ED25519);
	put_str(m, pub, 32);
}

static const uint8_t pub_a[32] = {1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13, 14, 15, 16,
				  17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32};

/* An identities answer: an ed25519 key, a FIDO one, an RSA one. */
static void three_keys(struct msg *m)
{
	struct msg blob = {0};
	uint8_t pub_b[32];

	memset(pub_b, 0xbb, 32);
	m->n = 0;
	put_u8(m, RP_SSH_AGENT_IDENTITIES_ANSWER);
	put_u32(m, 3);
	ed25519_blob(&blob, pub_a);
	put_msg(m, &blob);
	put_cstr(m, "alice@laptop");
	blob.n = 0;
	put_cstr(&blob, RP_SSH_SK_ED25519);
	put_str(&blob, pub_b, 32);
	put_cstr(&blob, "ssh:");
	put_msg(m, &blob);
	put_cstr(m, "yubikey");
	blob.n = 0;
	put_cstr(&blob, "ssh-rsa");
	put_str(&blob, "\x01\x00\x01", 3);
	put_str(&blob, "\x00\xc3\x11\x22", 4);
	put_msg(m, &blob);
	put_cstr(m, "old rsa");
}

static void ids_request_bytes(void **s)
{
	static const uint8_t want[5] = {0, 0, 0, 1, 11};
	uint8_t got[5];

	(void)s;
	rp_sshagent_ids_request(got);
	assert_memory_equal(got, want, 5);
}

static void sign_request_bytes(void **s)
{
	struct msg want = {0}, blob = {0}, body = {0};
	uint8_t *got = NULL;
	size_t n;

	(void)s;
	ed25519_blob(&blob, pub_a);
	put_u8(&body, RP_SSH_AGENTC_SIGN_REQUEST);
	put_msg(&body, &blob);
	put_cstr(&body, "some note text\n");
	put_u32(&body, 0);
	put_msg(&want, &body); /* uint32 length, then the body */
	assert_int_equal(rp_sshagent_sign_request(pub_a, "some note text\n", 15, &got, &n), 0);
	assert_int_equal(n, want.n);
	assert_memory_equal(got, want.b, n);
	free(got);
}

static void sign_request_cap(void **s)
{
	uint8_t *got = NULL, *big = calloc(1, RP_SSHAGENT_DATA_MAX + 1);
	size_t n;

	(void)s;
	assert_non_null(big);
	assert_int_equal(rp_sshagent_sign_request(pub_a, big, RP_SSHAGENT_DATA_MAX + 1, &got, &n),
			 RP_E_TOOBIG);
	assert_null(got);
	assert_int_equal(rp_sshagent_sign_request(pub_a, big, RP_SSHAGENT_DATA_MAX, &got, &n), 0);
	free(got);
	free(big);
}

static void parse_ids_kinds(void **s)
{
	struct msg m;
	struct rp_sshagent_id *v = NULL;
	struct rp_diag d = {""};
	size_t n = 0;

	(void)s;
	three_keys(&m);
	assert_int_equal(rp_sshagent_parse_ids(m.b, m.n, &v, &n, &d), 0);
	assert_int_equal(n, 3);
	assert_int_equal(v[0].kind, RP_SSHKEY_ED25519);
	assert_memory_equal(v[0].pub, pub_a, 32);
	assert_string_equal(v[0].comment, "alice@laptop");
	assert_int_equal(v[1].kind, RP_SSHKEY_SK_ED25519);
	assert_string_equal(v[1].type, RP_SSH_SK_ED25519);
	assert_string_equal(v[1].comment, "yubikey");
	assert_int_equal(v[2].kind, RP_SSHKEY_OTHER);
	assert_string_equal(v[2].type, "ssh-rsa");
	free(v);

	/* No keys at all is an answer, not an error. */
	m.n = 0;
	put_u8(&m, RP_SSH_AGENT_IDENTITIES_ANSWER);
	put_u32(&m, 0);
	v = NULL;
	assert_int_equal(rp_sshagent_parse_ids(m.b, m.n, &v, &n, &d), 0);
	assert_int_equal(n, 0);
	assert_null(v);
}

/* Every prefix of a valid answer, and the answer with a byte more, is refused. */
static void parse_ids_cut_or_long(void **s)
{
	struct msg m;
	struct rp_sshagent_id *v = NULL;
	struct rp_diag d;
	size_t n = 99;

	(void)s;
	three_keys(&m);
	for (size_t k = 0; k < m.n; k++) {
		d.msg[0] = '\0';
		assert_int_equal(rp_sshagent_parse_ids(m.b, k, &v, &n, &d), RP_E_MALFORMED);
		assert_true(d.msg[0] != '\0');
		assert_null(v); /* outputs untouched */
		assert_int_equal(n, 99);
	}
	put_u8(&m, 0);
	assert_int_equal(rp_sshagent_parse_ids(m.b, m.n, &v, &n, &d), RP_E_MALFORMED);
	assert_diag_has(&d, "after its 3 keys");
}

static void parse_ids_rejects(void **s)
{
	struct msg m = {0}, blob = {0};
	struct rp_sshagent_id *v = NULL;
	struct rp_diag d = {""};
	size_t n;

	(void)s;
	put_u8(&m, RP_SSH_AGENT_FAILURE);
	assert_int_equal(rp_sshagent_parse_ids(m.b, m.n, &v, &n, &d), RP_E_NOTFOUND);
	assert_diag_has(&d, "refused to list");

	m.n = 0;
	put_u8(&m, RP_SSH_AGENT_SIGN_RESPONSE);
	put_u32(&m, 0);
	assert_int_equal(rp_sshagent_parse_ids(m.b, m.n, &v, &n, &d), RP_E_MALFORMED);
	assert_diag_has(&d, "message type 14");

	/* More keys than the cap, before anything is allocated for them. */
	m.n = 0;
	put_u8(&m, RP_SSH_AGENT_IDENTITIES_ANSWER);
	put_u32(&m, RP_SSHAGENT_IDENTITIES_MAX + 1);
	assert_int_equal(rp_sshagent_parse_ids(m.b, m.n, &v, &n, &d), RP_E_TOOBIG);
	assert_diag_has(&d, "more than the 256");

	/* A count the bytes cannot hold. */
	m.n = 0;
	put_u8(&m, RP_SSH_AGENT_IDENTITIES_ANSWER);
	put_u32(&m, 200);
	put_u32(&m, 0);
	put_u32(&m, 0);
	assert_int_equal(rp_sshagent_parse_ids(m.b, m.n, &v, &n, &d), RP_E_MALFORMED);
	assert_diag_has(&d, "claims 200 keys");

	/* An ed25519 key of 31 bytes. */
	m.n = 0;
	put_u8(&m, RP_SSH_AGENT_IDENTITIES_ANSWER);
	put_u32(&m, 1);
	put_cstr(&blob, RP_SSH_ED25519);
	put_str(&blob, pub_a, 31);
	put_msg(&m, &blob);
	put_cstr(&m, "");
	assert_int_equal(rp_sshagent_parse_ids(m.b, m.n, &v, &n, &d), RP_E_MALFORMED);
	assert_diag_has(&d, "key 1 (ssh-ed25519)");
	assert_diag_has(&d, "32 bytes");

	/* Bytes after an ed25519 key inside its blob. */
	m.n = blob.n = 0;
	put_u8(&m, RP_SSH_AGENT_IDENTITIES_ANSWER);
	put_u32(&m, 1);
	ed25519_blob(&blob, pub_a);
	put_u8(&blob, 0);
	put_msg(&m, &blob);
	put_cstr(&m, "");
	assert_int_equal(rp_sshagent_parse_ids(m.b, m.n, &v, &n, &d), RP_E_MALFORMED);
	assert_diag_has(&d, "1 bytes after the key");

	/* A key type too long to be one, quoted. */
	m.n = blob.n = 0;
	put_u8(&m, RP_SSH_AGENT_IDENTITIES_ANSWER);
	put_u32(&m, 1);
	char longtype[RP_SSHAGENT_KEYTYPE_MAX + 2];
	memset(longtype, 'x', sizeof(longtype) - 1);
	longtype[sizeof(longtype) - 2] = '\x1b';
	longtype[sizeof(longtype) - 1] = '\0';
	put_cstr(&blob, longtype);
	put_msg(&m, &blob);
	put_cstr(&m, "");
	assert_int_equal(rp_sshagent_parse_ids(m.b, m.n, &v, &n, &d), RP_E_MALFORMED);
	assert_diag_has(&d, "longer than 64 bytes");
	assert_null(strchr(d.msg, '\x1b'));
	assert_null(v);
}

static void comment_kept_cut(void **s)
{
	struct msg m = {0}, blob = {0};
	struct rp_sshagent_id *v = NULL;
	char c[RP_SSHAGENT_COMMENT_MAX + 50];
	size_t n;

	(void)s;
	memset(c, 'c', sizeof(c));
	put_u8(&m, RP_SSH_AGENT_IDENTITIES_ANSWER);
	put_u32(&m, 2);
	ed25519_blob(&blob, pub_a);
	put_msg(&m, &blob);
	put_str(&m, c, sizeof(c));
	put_msg(&m, &blob);
	put_str(&m, "ab\0cd", 5);
	assert_int_equal(rp_sshagent_parse_ids(m.b, m.n, &v, &n, NULL), 0);
	assert_int_equal(strlen(v[0].comment), RP_SSHAGENT_COMMENT_MAX);
	assert_string_equal(v[1].comment, "ab");
	free(v);
}

static void sig_answer(struct msg *m, const char *type, const uint8_t *sig, size_t n)
{
	struct msg blob = {0};

	m->n = 0;
	put_u8(m, RP_SSH_AGENT_SIGN_RESPONSE);
	put_cstr(&blob, type);
	put_str(&blob, sig, n);
	put_msg(m, &blob);
}

static void parse_sig(void **s)
{
	uint8_t sig[64], got[64], untouched[64];
	struct rp_diag d = {""};
	struct msg m = {0};

	(void)s;
	randombytes_buf(sig, sizeof(sig));
	sig_answer(&m, RP_SSH_ED25519, sig, 64);
	assert_int_equal(rp_sshagent_parse_sig(m.b, m.n, got, &d), 0);
	assert_memory_equal(got, sig, 64);
	for (size_t k = 0; k < m.n; k++)
		assert_int_equal(rp_sshagent_parse_sig(m.b, k, got, &d), RP_E_MALFORMED);
	put_u8(&m, 0);
	assert_int_equal(rp_sshagent_parse_sig(m.b, m.n, got, &d), RP_E_MALFORMED);

	memset(got, 0x5a, 64);
	memcpy(untouched, got, 64);
	m.n = 0;
	put_u8(&m, RP_SSH_AGENT_FAILURE);
	assert_int_equal(rp_sshagent_parse_sig(m.b, m.n, got, &d), RP_E_NOSIG);
	assert_diag_has(&d, "refused to sign");
	/* An RSA or FIDO signature is not an Ed25519 one, whatever its length. */
	sig_answer(&m, "rsa-sha2-256", sig, 64);
	assert_int_equal(rp_sshagent_parse_sig(m.b, m.n, got, &d), RP_E_MALFORMED);
	assert_diag_has(&d, "`rsa-sha2-256'");
	sig_answer(&m, RP_SSH_SK_ED25519, sig, 64);
	assert_int_equal(rp_sshagent_parse_sig(m.b, m.n, got, &d), RP_E_MALFORMED);
	sig_answer(&m, RP_SSH_ED25519, sig, 63);
	assert_int_equal(rp_sshagent_parse_sig(m.b, m.n, got, &d), RP_E_MALFORMED);
	assert_diag_has(&d, "exactly 64 bytes");
	m.n = 0;
	put_u8(&m, RP_SSH_AGENT_IDENTITIES_ANSWER);
	assert_int_equal(rp_sshagent_parse_sig(m.b, m.n, got, &d), RP_E_MALFORMED);
	assert_diag_has(&d, "message type 12");
	assert_memory_equal(got, untouched, 64);
}

static void answer_len(void **s)
{
	uint8_t h[4];
	uint32_t n = 7;
	struct rp_diag d = {""};

	(void)s;
	memset(h, 0, 4);
	assert_int_equal(rp_sshagent_answer_len(h, &n, &d), RP_E_MALFORMED);
	h[1] = RP_SSHAGENT_ANSWER_MAX >> 16; /* exactly the cap */
	assert_int_equal(rp_sshagent_answer_len(h, &n, &d), 0);
	assert_int_equal(n, RP_SSHAGENT_ANSWER_MAX);
	h[3] = 1;
	assert_int_equal(rp_sshagent_answer_len(h, &n, &d), RP_E_TOOBIG);
	assert_diag_has(&d, "262145 bytes");
	memset(h, 0xff, 4);
	assert_int_equal(rp_sshagent_answer_len(h, &n, &d), RP_E_TOOBIG);
	assert_int_equal(n, RP_SSHAGENT_ANSWER_MAX);
}

/* A socketpair as the agent: its answer is written before the request is read. */
static void agent_pair(struct rp_sshagent *a, int *peer)
{
	int sv[2];

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	a->fd = sv[0];
	a->timeout_ms = 200;
	snprintf(a->path, sizeof(a->path), "test-pair");
	*peer = sv[1];
}

static void over_socket(void **s)
{
	struct rp_sshagent a;
	struct rp_sshagent_id *v = NULL;
	struct rp_diag d = {""};
	struct msg m, framed;
	uint8_t req[5];
	size_t n;
	int peer;

	(void)s;
	agent_pair(&a, &peer);
	three_keys(&m);
	framed.n = 0;
	put_msg(&framed, &m);
	assert_int_equal(write(peer, framed.b, framed.n), (ssize_t)framed.n);
	assert_int_equal(rp_sshagent_list(&a, &v, &n, &d), 0);
	assert_int_equal(n, 3);
	free(v);
	assert_int_equal(read(peer, req, 5), 5); /* what the agent was asked */
	assert_int_equal(req[4], RP_SSH_AGENTC_REQUEST_IDS);

	/* An answer over the cap: refused from its length, the connection dropped. */
	framed.n = 0;
	put_u32(&framed, RP_SSHAGENT_ANSWER_MAX + 1);
	assert_int_equal(write(peer, framed.b, framed.n), 4);
	assert_int_equal(rp_sshagent_list(&a, &v, &n, &d), RP_E_TOOBIG);
	assert_int_equal(a.fd, -1);
	assert_int_equal(rp_sshagent_list(&a, &v, &n, &d), RP_E_NET);
	assert_diag_has(&d, "closed after an error");
	close(peer);

	/* An agent that goes away in the middle of its answer. */
	agent_pair(&a, &peer);
	framed.n = 0;
	put_u32(&framed, 100);
	put_u8(&framed, RP_SSH_AGENT_IDENTITIES_ANSWER);
	assert_int_equal(write(peer, framed.b, framed.n), 5);
	shutdown(peer, SHUT_WR);
	assert_int_equal(rp_sshagent_list(&a, &v, &n, &d), RP_E_NET);
	assert_diag_has(&d, "closed the connection");
	close(peer);
	rp_sshagent_close(&a);

	/* An agent that takes the request and never answers: the deadline, then closed. */
	agent_pair(&a, &peer);
	framed.n = 0;
	put_u32(&framed, 100);
	put_u8(&framed, RP_SSH_AGENT_IDENTITIES_ANSWER);
	assert_int_equal(write(peer, framed.b, framed.n), 5);
	assert_int_equal(rp_sshagent_list(&a, &v, &n, &d), RP_E_NET);
	assert_diag_has(&d, "did not answer within 0.2 s");
	assert_int_equal(a.fd, -1);
	close(peer);
}

/* A backend standing for a hostile agent: a valid signature by the right key, of other bytes. */
static int sign_other_bytes(void *ctx, const uint8_t *msg, size_t n, uint8_t sig[64],
			    struct rp_diag *d)
{
	const struct rp_skey *k = ctx;

	(void)msg;
	(void)n;
	(void)d;
	crypto_sign_detached(sig, NULL, (const uint8_t *)"other bytes", 11, k->sk);
	return 0;
}

static int sign_garbage(void *ctx, const uint8_t *msg, size_t n, uint8_t sig[64], struct rp_diag *d)
{
	(void)ctx;
	(void)msg;
	(void)n;
	(void)d;
	memset(sig, 0x42, 64);
	return 0;
}

/* The attack: an agent answers a signature that does not verify; nothing is built on it. */
static void test_agent_returns_wrong_signature(void **s)
{
	int (*bad[2])(void *, const uint8_t *, size_t, uint8_t[64],
		      struct rp_diag *) = {sign_other_bytes, sign_garbage};
	struct rp_skey alice;
	struct rp_signer sg;
	struct rp_diag d;
	uint8_t sig[64], before[64];
	char *note = NULL, *rsig = NULL;
	size_t nlen = 0;

	(void)s;
	vec_skey(0, &alice);
	for (size_t i = 0; i < N_ELEMS(bad); i++) {
		rp_signer_skey(&sg, &alice);
		sg.sign = bad[i];
		sg.what = "ssh-agent at test";
		memset(sig, 0x11, 64);
		memcpy(before, sig, 64);
		d.msg[0] = '\0';
		assert_int_equal(rp_signer_sign(&sg, (const uint8_t *)"x\n", 2, sig, &d),
				 RP_E_BADSIG);
		assert_diag_has(&d, "ssh-agent at test returned a signature that does not verify");
		assert_memory_equal(sig, before, 64);
		assert_int_equal(rp_note_sign_by("x\n", 2, NULL, &sg, &note, &nlen, &d),
				 RP_E_BADSIG);
		assert_null(note);
		assert_int_equal(rp_reqsig_sign_by(&sg, "POST", "/v1/x", 1000, "b", 1, &rsig, &d),
				 RP_E_BADSIG);
		assert_null(rsig);
	}
	rp_skey_wipe(&alice);
}

/* The key file through the signer makes the very bytes it made before. */
static void skey_signer_unchanged(void **s)
{
	struct rp_skey alice;
	struct rp_signer sg;
	struct rp_diag d = {""};
	char *a = NULL, *b = NULL;
	size_t alen, blen;

	(void)s;
	vec_skey(0, &alice);
	rp_signer_skey(&sg, &alice);
	assert_int_equal(rp_note_sign("hello\n", 6, NULL, &alice, &a, &alen), 0);
	assert_int_equal(rp_note_sign_by("hello\n", 6, NULL, &sg, &b, &blen, &d), 0);
	assert_int_equal(alen, blen);
	assert_memory_equal(a, b, alen);
	free(a);
	free(b);
	a = rp_reqsig_sign(&alice, "POST", "/v1/x", 1000, "body", 4);
	assert_int_equal(rp_reqsig_sign_by(&sg, "POST", "/v1/x", 1000, "body", 4, &b, &d), 0);
	assert_string_equal(a, b);
	free(a);
	free(b);
	/* A text that is not a note text is refused before anything is signed. */
	assert_int_equal(rp_note_sign_by("no newline", 10, NULL, &sg, &b, &blen, &d),
			 RP_E_MALFORMED);
	rp_skey_wipe(&alice);
}

/* The add request, byte for byte as draft-miller-ssh-agent lays it out. */
static void add_request_bytes(void **s)
{
	uint8_t sk[64], *q = NULL;
	struct msg want = {0};
	size_t n;

	(void)s;
	for (int i = 0; i < 64; i++)
		sk[i] = (uint8_t)i;
	assert_int_equal(rp_sshagent_add_request(sk, "rampart:bob", 900, &q, &n), 0);
	put_u32(&want, 0); /* length, set below */
	put_u8(&want, RP_SSH_AGENTC_ADD_ID_CONSTRAINED);
	put_cstr(&want, RP_SSH_ED25519);
	put_str(&want, sk + 32, 32);
	put_str(&want, sk, 64);
	put_cstr(&want, "rampart:bob");
	put_u8(&want, RP_SSH_AGENT_CONSTRAIN_LIFETIME);
	put_u32(&want, 900);
	want.b[3] = (uint8_t)(want.n - 4);
	assert_int_equal(n, want.n);
	assert_memory_equal(q, want.b, n);
	free(q);
	char long_comment[RP_SSHAGENT_COMMENT_MAX + 2];
	memset(long_comment, 'c', sizeof(long_comment) - 1);
	long_comment[sizeof(long_comment) - 1] = '\0';
	assert_int_equal(rp_sshagent_add_request(sk, long_comment, 1, &q, &n), RP_E_TOOBIG);
	/* remove: the key blob alone */
	assert_int_equal(rp_sshagent_remove_request(pub_a, &q, &n), 0);
	struct msg blob = {0}, rm = {0};
	ed25519_blob(&blob, pub_a);
	put_u32(&rm, 0);
	put_u8(&rm, RP_SSH_AGENTC_REMOVE_IDENTITY);
	put_msg(&rm, &blob);
	rm.b[3] = (uint8_t)(rm.n - 4);
	assert_int_equal(n, rm.n);
	assert_memory_equal(q, rm.b, n);
	free(q);
}

static void parse_status(void **s)
{
	struct rp_diag d = {""};
	const uint8_t ok[] = {RP_SSH_AGENT_SUCCESS}, no[] = {RP_SSH_AGENT_FAILURE},
		      longer[] = {RP_SSH_AGENT_SUCCESS, 0}, other[] = {RP_SSH_AGENT_SIGN_RESPONSE};

	(void)s;
	assert_int_equal(rp_sshagent_parse_status(ok, 1, &d), 0);
	assert_int_equal(rp_sshagent_parse_status(no, 1, &d), RP_E_NOTFOUND);
	assert_int_equal(rp_sshagent_parse_status(longer, 2, &d), RP_E_MALFORMED);
	assert_int_equal(rp_sshagent_parse_status(other, 1, &d), RP_E_MALFORMED);
	assert_int_equal(rp_sshagent_parse_status(ok, 0, &d), RP_E_MALFORMED);
	assert_non_null(strstr(d.msg, "not success or failure"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(ids_request_bytes),
		cmocka_unit_test(sign_request_bytes),
		cmocka_unit_test(sign_request_cap),
		cmocka_unit_test(parse_ids_kinds),
		cmocka_unit_test(parse_ids_cut_or_long),
		cmocka_unit_test(parse_ids_rejects),
		cmocka_unit_test(comment_kept_cut),
		cmocka_unit_test(parse_sig),
		cmocka_unit_test(answer_len),
		cmocka_unit_test(over_socket),
		cmocka_unit_test(test_agent_returns_wrong_signature),
		cmocka_unit_test(skey_signer_unchanged),
		cmocka_unit_test(add_request_bytes),
		cmocka_unit_test(parse_status),
	};
	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests_name("sshagent", tests, NULL, NULL);
}
