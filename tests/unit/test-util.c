/* SPDX-License-Identifier: Apache-2.0 */
/* What parsers rely on: times, numbers, base64, bounded strings, request signatures, files. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helpers.h"
#include "reqsig.h"

static void time_ok(const char *s, int64_t want)
{
	int64_t t = -1;
	char out[21];

	assert_int_equal(rp_time_parse(s, strlen(s), &t), 0);
	assert_int_equal(t, want);
	rp_time_format(t, out);
	assert_string_equal(out, s);
}

static void time_bad(const char *s)
{
	int64_t t = 12345;

	assert_int_equal(rp_time_parse(s, strlen(s), &t), RP_E_MALFORMED);
	assert_int_equal(t, 12345); /* untouched */
}

static void time_epoch_and_known_instants(void **state)
{
	(void)state;
	time_ok("1970-01-01T00:00:00Z", 0);
	time_ok("2026-11-24T10:00:00Z", 1795514400);
	time_ok("2038-01-19T03:14:08Z", 2147483648LL); /* past 32-bit time_t */
	time_ok("2100-01-01T00:00:00Z", 4102444800LL);
	time_ok("9999-12-31T23:59:59Z", 253402300799LL);
}

static void time_leap_years(void **state)
{
	(void)state;
	time_ok("2000-02-29T12:34:56Z", 951827696); /* divisible by 400: leap */
	time_ok("2024-02-29T00:00:00Z", 1709164800);
	time_ok("2024-12-31T23:59:59Z", 1735689599);
	time_ok("2023-03-01T00:00:00Z", 1677628800);
}

static void time_feb29_1900_invalid(void **state)
{
	(void)state;
	time_bad("1900-02-29T00:00:00Z"); /* also before 1970 */
	time_bad("2100-02-29T00:00:00Z"); /* divisible by 100, not 400 */
	time_bad("2023-02-29T00:00:00Z");
}

static void time_out_of_range_fields(void **state)
{
	(void)state;
	time_bad("1969-12-31T23:59:59Z");
	time_bad("2026-00-10T00:00:00Z");
	time_bad("2026-13-01T00:00:00Z");
	time_bad("2026-11-00T00:00:00Z");
	time_bad("2026-11-31T00:00:00Z");
	time_bad("2026-04-31T00:00:00Z");
	time_bad("2026-11-24T24:00:00Z");
	time_bad("2026-11-24T10:60:00Z");
	time_bad("2026-11-24T10:00:60Z"); /* no leap seconds */
}

static void time_bad_shapes(void **state)
{
	(void)state;
	time_bad("");
	time_bad("2026-11-24");
	time_bad("2026-11-24 10:00:00Z");
	time_bad("2026-11-24t10:00:00z");
	time_bad("2026-11-24T10:00:00");
	time_bad("2026-11-24T10:00:00+00:00");
	time_bad("2026-11-24T10:00:00.5Z");
	time_bad("2026-1-24T10:00:00Z ");
	time_bad(" 2026-11-24T10:00:00Z");
	time_bad("+026-11-24T10:00:00Z");
	time_bad("2026-11-2aT10:00:00Z");
	time_bad("2026/11/24T10:00:00Z");
}

static void u64_ok(const char *s, uint64_t max, uint64_t want)
{
	uint64_t v = 0;

	assert_int_equal(rp_parse_u64(s, strlen(s), max, &v), 0);
	assert_true(v == want);
}

static void u64_bad(const char *s, uint64_t max)
{
	uint64_t v = 777;

	assert_int_equal(rp_parse_u64(s, strlen(s), max, &v), RP_E_MALFORMED);
	assert_true(v == 777);
}

static void u64_accepts(void **state)
{
	(void)state;
	u64_ok("0", 10, 0);
	u64_ok("10", 10, 10);
	u64_ok("18446744073709551615", UINT64_MAX, UINT64_MAX);
}

static void u64_leading_zeros(void **state)
{
	(void)state;
	u64_bad("010", 100);
	u64_bad("00", 100);
	u64_bad("0018446744073709551615", UINT64_MAX);
}

static void u64_overflow(void **state)
{
	(void)state;
	u64_bad("18446744073709551616", UINT64_MAX);
	u64_bad("99999999999999999999", UINT64_MAX);
	u64_bad("184467440737095516150", UINT64_MAX);
	u64_bad("11", 10); /* above the caller's maximum */
}

static void u64_bad_shapes(void **state)
{
	(void)state;
	u64_bad("", 100);
	u64_bad("-1", 100);
	u64_bad("+1", 100);
	u64_bad(" 1", 100);
	u64_bad("1 ", 100);
	u64_bad("0x10", 100);
	u64_bad("1e2", 1000);
}

static void b64_ok(const char *s, const char *want, size_t want_len)
{
	uint8_t out[16];
	size_t n = 0;

	assert_int_equal(rp_b64_decode(s, strlen(s), out, sizeof(out), &n), 0);
	assert_int_equal(n, want_len);
	assert_memory_equal(out, want, want_len);
}

static void b64_bad(const char *s)
{
	uint8_t out[16];
	size_t n = 99;

	assert_int_equal(rp_b64_decode(s, strlen(s), out, sizeof(out), &n), RP_E_MALFORMED);
	assert_int_equal(n, 99);
}

static void base64_canonical(void **state)
{
	(void)state;
	b64_ok("", "", 0);
	b64_ok("aGk=", "hi", 2);
	b64_ok("aA==", "h", 1);
	b64_ok("aGk/", "hi?", 3);
	b64_ok("+/+/", "\xfb\xff\xbf", 3);
}

static void base64_noncanonical_rejected(void **state)
{
	(void)state;
	b64_bad("aGl="); /* unused bits set */
	b64_bad("aB==");
	b64_bad("aGk"); /* unpadded */
	b64_bad("aA=");
	b64_bad("aA===");
	b64_bad("aG k");
	b64_bad("aGk-"); /* URL-safe alphabet */
	b64_bad("aGk_");
	b64_bad("aGk=aGk=");
	b64_bad("aGk=\n");
}

static void base64_output_cap(void **state)
{
	uint8_t out[2];
	size_t n = 0;
	(void)state;
	assert_int_equal(rp_b64_decode("aGk=", 4, out, 2, &n), 0);
	assert_int_equal(rp_b64_decode("aGk/", 4, out, 2, &n), RP_E_MALFORMED);
}

static void hex_lowercase_only(void **state)
{
	uint8_t b[2];
	char out[5];
	(void)state;
	assert_int_equal(rp_hex_decode("0aff", 4, b, 2), 0);
	assert_int_equal(b[0], 0x0a);
	assert_int_equal(b[1], 0xff);
	rp_hex_encode(b, 2, out);
	assert_string_equal(out, "0aff");
	assert_int_equal(rp_hex_decode("0AFF", 4, b, 2), RP_E_MALFORMED);
	assert_int_equal(rp_hex_decode("0af", 3, b, 2), RP_E_MALFORMED);
	assert_int_equal(rp_hex_decode("0afg", 4, b, 2), RP_E_MALFORMED);
}

static void sb_max(void **state)
{
	struct rp_sb sb;
	size_t len;
	char *s;
	(void)state;

	rp_sb_init(&sb, 8);
	rp_sb_puts(&sb, "1234");
	rp_sb_printf(&sb, "%d", 5678);
	assert_int_equal(sb.err, 0);
	s = rp_sb_take(&sb, &len);
	assert_int_equal(len, 8);
	assert_string_equal(s, "12345678");
	free(s);

	rp_sb_init(&sb, 8);
	rp_sb_puts(&sb, "12345678");
	rp_sb_puts(&sb, "9");
	assert_int_equal(sb.err, RP_E_TOOBIG);
	/* Sticky: later writes that would fit do not clear it. */
	rp_sb_puts(&sb, "");
	assert_int_equal(sb.err, RP_E_TOOBIG);
	assert_null(rp_sb_take(&sb, NULL));

	rp_sb_init(&sb, 8);
	rp_sb_printf(&sb, "%s", "123456789");
	assert_int_equal(sb.err, RP_E_TOOBIG);
	assert_null(rp_sb_take(&sb, NULL));
}

static void sb_empty_take(void **state)
{
	struct rp_sb sb;
	size_t len = 9;
	char *s;
	(void)state;
	rp_sb_init(&sb, 8);
	s = rp_sb_take(&sb, &len);
	assert_non_null(s);
	assert_int_equal(len, 0);
	assert_string_equal(s, "");
	free(s);
}

static void quote_escapes_and_truncates(void **state)
{
	char out[16];
	(void)state;
	rp_quote(out, sizeof(out), "a\nb\x7f", 4);
	assert_string_equal(out, "a\\x0ab\\x7f");
	rp_quote(out, sizeof(out), "abcdefghijklmnopqrstuvwxyz", 26);
	assert_true(strlen(out) < sizeof(out));
	assert_non_null(strstr(out, "..."));
}

/*
 * Attack: a server's text that would forge a log line: a newline and a
 * line of its own, CR, ESC sequences, a bidi override (U+202E), a backslash
 * that would make an escape ambiguous. One line, printable ASCII only.
 */
static void quote_hostile_text(void **state)
{
	static const char hostile[] =
		"bad\n1999-01-01T00:00:00Z freeze - forged\r\x1b[2J\x1b]0;t\x07"
		"\xe2\x80\xae evil \\x0a";
	char out[512];
	(void)state;
	rp_quote(out, sizeof(out), hostile, sizeof(hostile) - 1);
	for (const char *p = out; *p; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
			fail_msg("byte 0x%02x left in `%s'", (unsigned char)*p, out);
	assert_string_equal(out,
			    "bad\\x0a1999-01-01T00:00:00Z freeze - forged\\x0d\\x1b[2J\\x1b]0;t"
			    "\\x07\\xe2\\x80\\xae evil \\\\x0a");
}

static void quote_exact_fit(void **state)
{
	/*
	 * An input that fits exactly must come back whole, without a
	 * truncation mark and without bytes the quote never wrote.
	 */
	(void)state;
	for (size_t n = 0; n < 32; n++) {
		char in[32], out[16];
		size_t len;

		memset(in, 'q', n);
		memset(out, '#', sizeof(out));
		rp_quote(out, sizeof(out), in, n);
		assert_null(strchr(out, '#'));
		len = strlen(out);
		if (n <= sizeof(out) - 5) {
			assert_int_equal(len, n);
		} else {
			assert_true(len >= 3 && len < sizeof(out));
			assert_string_equal(out + len - 3, "...");
		}
	}
}

static void request_signature(void **state)
{
	struct rp_skey k;
	char *sig;
	(void)state;

	vec_skey(0, &k);
	sig = rp_reqsig_sign(&k, "POST", "/v1/x?y=1", 1000000, "body", 4);
	assert_non_null(sig);
	assert_int_equal(rp_reqsig_verify(k.pub, "POST", "/v1/x?y=1", "1000000", "body", 4, sig,
					  1000100, NULL),
			 0);
	/* Body-less requests sign the hash of the empty body. */
	char *sig2 = rp_reqsig_sign(&k, "GET", "/v1/poll", 1000000, NULL, 0);
	assert_int_equal(
		rp_reqsig_verify(k.pub, "GET", "/v1/poll", "1000000", "", 0, sig2, 1000000, NULL),
		0);
	free(sig2);
	free(sig);
}

static void request_signature_skew(void **state)
{
	struct rp_skey k;
	struct rp_diag d = {""};
	char *sig;
	(void)state;

	vec_skey(0, &k);
	sig = rp_reqsig_sign(&k, "POST", "/v1/x", 1000000, "body", 4);
	/* Exactly at the window's edges: accepted. */
	assert_int_equal(rp_reqsig_verify(k.pub, "POST", "/v1/x", "1000000", "body", 4, sig,
					  1000000 + RP_REQUEST_SKEW_S, NULL),
			 0);
	assert_int_equal(rp_reqsig_verify(k.pub, "POST", "/v1/x", "1000000", "body", 4, sig,
					  1000000 - RP_REQUEST_SKEW_S, NULL),
			 0);
	/* One second beyond, either way: refused. */
	assert_int_equal(rp_reqsig_verify(k.pub, "POST", "/v1/x", "1000000", "body", 4, sig,
					  1000000 + RP_REQUEST_SKEW_S + 1, &d),
			 RP_E_EXPIRED);
	assert_diag_has(&d, "clock");
	assert_int_equal(rp_reqsig_verify(k.pub, "POST", "/v1/x", "1000000", "body", 4, sig,
					  1000000 - RP_REQUEST_SKEW_S - 1, NULL),
			 RP_E_EXPIRED);
	free(sig);
}

static void request_signature_tampered(void **state)
{
	struct rp_skey k, bob;
	char *sig;
	(void)state;

	vec_skey(0, &k);
	vec_skey(1, &bob);
	sig = rp_reqsig_sign(&k, "POST", "/v1/x?y=1", 1000000, "body", 4);
	assert_int_equal(rp_reqsig_verify(k.pub, "POST", "/v1/x?y=1", "1000000", "bodY", 4, sig,
					  1000000, NULL),
			 RP_E_BADSIG);
	assert_int_equal(rp_reqsig_verify(k.pub, "POST", "/v1/x?y=1", "1000000", "bod", 3, sig,
					  1000000, NULL),
			 RP_E_BADSIG);
	assert_int_equal(rp_reqsig_verify(k.pub, "GET", "/v1/x?y=1", "1000000", "body", 4, sig,
					  1000000, NULL),
			 RP_E_BADSIG);
	assert_int_equal(rp_reqsig_verify(k.pub, "POST", "/v1/x?y=2", "1000000", "body", 4, sig,
					  1000000, NULL),
			 RP_E_BADSIG);
	assert_int_equal(rp_reqsig_verify(k.pub, "POST", "/v1/x?y=1", "1000001", "body", 4, sig,
					  1000000, NULL),
			 RP_E_BADSIG);
	assert_int_equal(rp_reqsig_verify(bob.pub, "POST", "/v1/x?y=1", "1000000", "body", 4, sig,
					  1000000, NULL),
			 RP_E_BADSIG);
	free(sig);
}

static void request_signature_malformed(void **state)
{
	struct rp_skey k;
	char *sig;
	(void)state;

	vec_skey(0, &k);
	sig = rp_reqsig_sign(&k, "POST", "/v1/x", 1000000, "body", 4);
	assert_int_equal(
		rp_reqsig_verify(k.pub, "POST", "/v1/x", "01000000", "body", 4, sig, 1000000, NULL),
		RP_E_MALFORMED);
	assert_int_equal(
		rp_reqsig_verify(k.pub, "POST", "/v1/x", "-1000000", "body", 4, sig, 1000000, NULL),
		RP_E_MALFORMED);
	assert_int_equal(
		rp_reqsig_verify(k.pub, "POST", "/v1/x", NULL, "body", 4, sig, 1000000, NULL),
		RP_E_MALFORMED);
	assert_int_equal(
		rp_reqsig_verify(k.pub, "POST", "/v1/x", "1000000", "body", 4, NULL, 1000000, NULL),
		RP_E_MALFORMED);
	assert_int_equal(rp_reqsig_verify(k.pub, "POST", "/v1/x", "1000000", "body", 4,
					  "aGk=", 1000000, NULL),
			 RP_E_MALFORMED);
	free(sig);
}

static void strerror_table(void **state)
{
	(void)state;
	assert_string_equal(rp_strerror(0), "success");
	assert_string_equal(rp_strerror(RP_E_QUORUM),
			    "signatures do not reach the role's threshold");
	assert_string_equal(rp_strerror(-9999), "unknown error");
}

/* ---- files ---- */

static char tdir[256];

static int tdir_setup(void **state)
{
	const char *t = getenv("TMPDIR");

	(void)state;
	snprintf(tdir, sizeof(tdir), "%s/rampart-test-util.XXXXXX", t && *t ? t : "/tmp");
	return mkdtemp(tdir) ? 0 : -1;
}

static int rm_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)type;
	(void)ftw;
	return remove(path);
}

static int tdir_teardown(void **state)
{
	(void)state;
	return nftw(tdir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* tdir/name, in a static buffer of its own (up to four at once). */
static const char *tpath(const char *name)
{
	static char bufs[4][320];
	static int next;
	char *b = bufs[next++ % 4];

	snprintf(b, sizeof(bufs[0]), "%s/%s", tdir, name);
	return b;
}

static void put(const char *name, const char *text, mode_t mode)
{
	int fd = open(tpath(name), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
}

/* Fails unless tdir/name is a regular file (not a link) holding text. */
static void assert_file(const char *name, const char *text)
{
	struct stat st;
	char *buf = NULL;
	size_t len;

	assert_int_equal(lstat(tpath(name), &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(rp_read_file(tpath(name), 1 << 20, &buf, &len), 0);
	assert_int_equal(len, strlen(text));
	assert_memory_equal(buf, text, len);
	free(buf);
}

/* How many entries tdir holds (. and .. aside). */
static int entries(void)
{
	DIR *d = opendir(tdir);
	struct dirent *e;
	int n = 0;

	assert_non_null(d);
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

/*
 * Attack: a link planted at the temporary name. The old code wrote
 * through `<path>.tmp', so whoever could create that name chose which
 * file the next write truncated and filled (here: victim), and then the
 * link itself was renamed into place.
 */
static void atomic_write_symlink_at_temp_name(void **state)
{
	char tmp[340];
	(void)state;

	put("victim", "precious", 0600);
	snprintf(tmp, sizeof(tmp), "%s.tmp", tpath("state"));
	assert_int_equal(symlink(tpath("victim"), tmp), 0);
	assert_int_equal(rp_write_file_atomic(tpath("state"), "new\n", 4, 0600), 0);
	assert_file("victim", "precious");
	assert_file("state", "new\n");
	assert_int_equal(entries(), 3); /* victim, state, the untouched link */
}

/* Attack: a link planted at the target is replaced, never written through. */
static void atomic_write_symlink_at_target(void **state)
{
	(void)state;

	put("victim", "precious", 0600);
	assert_int_equal(symlink(tpath("victim"), tpath("state")), 0);
	assert_int_equal(rp_write_file_atomic(tpath("state"), "new\n", 4, 0600), 0);
	assert_file("victim", "precious");
	assert_file("state", "new\n");
	assert_int_equal(entries(), 2);
	/* A dangling link: replaced too, nothing created where it points. */
	assert_int_equal(unlink(tpath("state")), 0);
	assert_int_equal(symlink(tpath("nowhere"), tpath("state")), 0);
	assert_int_equal(rp_write_file_atomic(tpath("state"), "new\n", 4, 0600), 0);
	assert_file("state", "new\n");
	assert_int_equal(access(tpath("nowhere"), F_OK), -1);
}

#define WRITERS   2
#define WRITES    300
#define WRITE_LEN (32 * 1024)

/* A whole write of writer w: WRITE_LEN bytes of one letter. */
static bool whole(const char *buf, size_t len)
{
	if (len != WRITE_LEN || buf[0] < 'a' || buf[0] >= 'a' + WRITERS)
		return false;
	for (size_t i = 1; i < len; i++)
		if (buf[i] != buf[0])
			return false;
	return true;
}

/*
 * Two processes replace the same file at once while a third reads it.
 * With one fixed temporary name they wrote into the same file (a reader
 * saw one writer's bytes mixed with the other's) and one writer's rename
 * found its temporary file already gone.
 */
static void atomic_write_two_writers(void **state)
{
	static char buf[WRITE_LEN];
	pid_t pids[WRITERS];
	int bad_reads = 0, status;
	(void)state;

	memset(buf, 'a', sizeof(buf));
	assert_int_equal(rp_write_file_atomic(tpath("state"), buf, sizeof(buf), 0600), 0);
	for (int w = 0; w < WRITERS; w++) {
		pids[w] = fork();
		assert_true(pids[w] >= 0);
		if (pids[w] == 0) {
			memset(buf, 'a' + w, sizeof(buf));
			for (int i = 0; i < WRITES; i++)
				if (rp_write_file_atomic(tpath("state"), buf, WRITE_LEN, 0600) < 0)
					_exit(1);
			_exit(0);
		}
	}
	/* Read while they write, until both are done. */
	for (int done = 0; done < WRITERS;) {
		char *got = NULL;
		size_t len = 0;

		if (rp_read_file(tpath("state"), 2 * WRITE_LEN, &got, &len) < 0 || !whole(got, len))
			bad_reads++;
		free(got);
		done = 0;
		for (int w = 0; w < WRITERS; w++) {
			if (pids[w] > 0 && waitpid(pids[w], &status, WNOHANG) == pids[w]) {
				/* Every write succeeded. */
				assert_true(WIFEXITED(status));
				assert_int_equal(WEXITSTATUS(status), 0);
				pids[w] = 0;
			}
			done += pids[w] == 0;
		}
	}
	assert_int_equal(bad_reads, 0);
	assert_int_equal(entries(), 1); /* no temporary file left */
}

/* Every way a write can fail leaves the old file and no temporary file. */
static void atomic_write_failure_leaves_nothing(void **state)
{
	static char big[64 * 1024];
	int status;
	pid_t pid;
	(void)state;

	put("state", "old\n", 0600);
	/* The write itself fails: a file size limit below the content. */
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct rlimit rl = {1024, 1024};

		signal(SIGXFSZ, SIG_IGN);
		if (setrlimit(RLIMIT_FSIZE, &rl) != 0)
			_exit(2);
		_exit(rp_write_file_atomic(tpath("state"), big, sizeof(big), 0600) == RP_E_IO &&
				      errno == EFBIG
			      ? 0
			      : 1);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_file("state", "old\n");
	assert_int_equal(entries(), 1);
	/* The rename fails: the target is a directory. */
	assert_int_equal(mkdir(tpath("dir"), 0700), 0);
	assert_int_equal(rp_write_file_atomic(tpath("dir"), "x", 1, 0600), RP_E_IO);
	assert_int_equal(entries(), 2);
	/* No directory to write in. */
	assert_int_equal(rp_write_file_atomic(tpath("none/state"), "x", 1, 0600), RP_E_IO);
	assert_int_equal(rp_write_file_atomic(tpath(""), "x", 1, 0600), RP_E_INVAL);
	assert_int_equal(entries(), 2);
}

static void atomic_write_mode_and_relative_path(void **state)
{
	struct stat st;
	char cwd[PATH_MAX];
	mode_t old = umask(077);
	(void)state;

	assert_int_equal(rp_write_file_atomic(tpath("pub"), "x\n", 2, 0644), 0);
	umask(old);
	assert_int_equal(stat(tpath("pub"), &st), 0);
	assert_int_equal(st.st_mode & 0777, 0644); /* exactly, whatever the umask */
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	assert_int_equal(chdir(tdir), 0);
	assert_int_equal(rp_write_file_atomic("rel", "y\n", 2, 0600), 0);
	assert_int_equal(chdir(cwd), 0);
	assert_file("rel", "y\n");
}

static void write_new_never_replaces(void **state)
{
	struct stat st;
	(void)state;

	assert_int_equal(rp_write_file_new(tpath("key"), "secret\n", 7, 0600), 0);
	assert_file("key", "secret\n");
	assert_int_equal(stat(tpath("key"), &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(rp_write_file_new(tpath("key"), "other\n", 6, 0600), RP_E_EXISTS);
	assert_file("key", "secret\n");
	/* A dangling link counts as existing: nothing is made where it points. */
	assert_int_equal(symlink(tpath("nowhere"), tpath("link")), 0);
	assert_int_equal(rp_write_file_new(tpath("link"), "x", 1, 0600), RP_E_EXISTS);
	assert_int_equal(access(tpath("nowhere"), F_OK), -1);
	assert_int_equal(entries(), 2);
}

static void read_flags_refused(const char *name, unsigned flags, const char *why)
{
	struct rp_diag d = {""};
	char *buf = (char *)"untouched";
	size_t len = 99;

	assert_int_equal(rp_read_file_flags(tpath(name), 4096, flags, &buf, &len, &d), RP_E_UNSAFE);
	assert_string_equal(buf, "untouched");
	assert_int_equal(len, 99);
	assert_diag_has(&d, why);
	assert_diag_has(&d, name);
}

static void read_flags_accepted(const char *name, unsigned flags, const char *text)
{
	struct rp_diag d = {""};
	char *buf = NULL;
	size_t len = 0;

	assert_int_equal(rp_read_file_flags(tpath(name), 4096, flags, &buf, &len, &d), 0);
	assert_int_equal(len, strlen(text));
	assert_memory_equal(buf, text, len);
	free(buf);
}

/* Attack: a link where a daemon keeps its own state or a key. */
static void read_nofollow_refuses_links(void **state)
{
	(void)state;
	put("real", "key\n", 0600);
	assert_int_equal(symlink(tpath("real"), tpath("link")), 0);
	read_flags_accepted("link", 0, "key\n"); /* a path a person names: followed */
	read_flags_accepted("real", RP_FILE_NOFOLLOW, "key\n");
	read_flags_refused("link", RP_FILE_NOFOLLOW, "symbolic link");
	read_flags_refused("link", RP_FILE_PRIVATE, "symbolic link");
}

/* Attack: a FIFO planted as a state file would block the reader forever. */
static void read_nofollow_refuses_fifos_and_dirs(void **state)
{
	(void)state;
	assert_int_equal(mkfifo(tpath("fifo"), 0600), 0);
	read_flags_refused("fifo", RP_FILE_NOFOLLOW, "not a regular file");
	assert_int_equal(mkdir(tpath("dir"), 0700), 0);
	read_flags_refused("dir", RP_FILE_PRIVATE, "not a regular file");
}

static void read_private_mode_and_owner(void **state)
{
	(void)state;
	put("key", "key\n", 0600);
	read_flags_accepted("key", RP_FILE_PRIVATE, "key\n");
	put("key", "key\n", 0400);
	read_flags_accepted("key", RP_FILE_PRIVATE, "key\n");
	put("key", "key\n", 0640);
	read_flags_refused("key", RP_FILE_PRIVATE, "mode 640");
	put("key", "key\n", 0604);
	read_flags_refused("key", RP_FILE_PRIVATE, "chmod 600");
	read_flags_accepted("key", RP_FILE_NOFOLLOW, "key\n"); /* only PRIVATE looks at modes */
	put("key", "key\n", 0600);
	if (geteuid() == 0) {
		assert_int_equal(chown(tpath("key"), 65534, 65534), 0);
		read_flags_refused("key", RP_FILE_PRIVATE, "uid 65534");
	}
}

static void read_flags_errors_say_what(void **state)
{
	struct rp_diag d = {""};
	char *buf = NULL;
	size_t len;
	(void)state;

	assert_int_equal(rp_read_file_flags(tpath("none"), 16, RP_FILE_NOFOLLOW, &buf, &len, &d),
			 RP_E_NOTFOUND);
	assert_diag_has(&d, "none");
	put("big", "0123456789abcdefX", 0600);
	assert_int_equal(rp_read_file_flags(tpath("big"), 16, RP_FILE_PRIVATE, &buf, &len, &d),
			 RP_E_TOOBIG);
	assert_diag_has(&d, "more than 16");
	assert_null(buf);
}

/* A file test runs in a fresh directory of its own. */
#define FILE_TEST(f) cmocka_unit_test_setup_teardown(f, tdir_setup, tdir_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(time_epoch_and_known_instants),
		cmocka_unit_test(time_leap_years),
		cmocka_unit_test(time_feb29_1900_invalid),
		cmocka_unit_test(time_out_of_range_fields),
		cmocka_unit_test(time_bad_shapes),
		cmocka_unit_test(u64_accepts),
		cmocka_unit_test(u64_leading_zeros),
		cmocka_unit_test(u64_overflow),
		cmocka_unit_test(u64_bad_shapes),
		cmocka_unit_test(base64_canonical),
		cmocka_unit_test(base64_noncanonical_rejected),
		cmocka_unit_test(base64_output_cap),
		cmocka_unit_test(hex_lowercase_only),
		cmocka_unit_test(sb_max),
		cmocka_unit_test(sb_empty_take),
		cmocka_unit_test(quote_escapes_and_truncates),
		cmocka_unit_test(quote_exact_fit),
		cmocka_unit_test(quote_hostile_text),
		cmocka_unit_test(request_signature),
		cmocka_unit_test(request_signature_skew),
		cmocka_unit_test(request_signature_tampered),
		cmocka_unit_test(request_signature_malformed),
		cmocka_unit_test(strerror_table),
		FILE_TEST(atomic_write_symlink_at_temp_name),
		FILE_TEST(atomic_write_symlink_at_target),
		FILE_TEST(atomic_write_two_writers),
		FILE_TEST(atomic_write_failure_leaves_nothing),
		FILE_TEST(atomic_write_mode_and_relative_path),
		FILE_TEST(write_new_never_replaces),
		FILE_TEST(read_nofollow_refuses_links),
		FILE_TEST(read_nofollow_refuses_fifos_and_dirs),
		FILE_TEST(read_private_mode_and_owner),
		FILE_TEST(read_flags_errors_say_what),
	};
	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests_name("util", tests, NULL, NULL);
}
