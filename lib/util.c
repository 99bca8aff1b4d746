/* SPDX-License-Identifier: Apache-2.0 */
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rp_err.h"

void rp_diagf(struct rp_diag *d, const char *fmt, ...)
{
	va_list ap;

	if (!d)
		return;
	va_start(ap, fmt);
	vsnprintf(d->msg, sizeof(d->msg), fmt, ap);
	va_end(ap);
}

void rp_quote(char *out, size_t outlen, const char *s, size_t n)
{
	size_t o = 0, i;

	if (outlen == 0)
		return;
	for (i = 0; i < n && o + 5 < outlen; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c >= 0x20 && c < 0x7f) {
			out[o++] = (char)c;
		} else {
			snprintf(out + o, outlen - o, "\\x%02x", c);
			o += 4;
		}
	}
	if (i < n && outlen > 4) {
		/* Truncated: "..." right after what was written, inside out. */
		if (o > outlen - 4)
			o = outlen - 4;
		memcpy(out + o, "...", 3);
		o += 3;
	}
	out[o] = '\0';
}

void rp_sb_init(struct rp_sb *sb, size_t max)
{
	memset(sb, 0, sizeof(*sb));
	sb->max = max;
}

void rp_sb_release(struct rp_sb *sb)
{
	free(sb->s);
	memset(sb, 0, sizeof(*sb));
}

static bool sb_reserve(struct rp_sb *sb, size_t more)
{
	size_t need;
	char *p;

	if (sb->err)
		return false;
	if (more > sb->max || sb->len > sb->max - more) {
		sb->err = RP_E_TOOBIG;
		return false;
	}
	need = sb->len + more + 1;
	if (need <= sb->cap)
		return true;
	size_t cap = sb->cap ? sb->cap : 256;
	while (cap < need)
		cap *= 2;
	p = realloc(sb->s, cap);
	if (!p) {
		sb->err = RP_E_NOMEM;
		return false;
	}
	sb->s = p;
	sb->cap = cap;
	return true;
}

void rp_sb_put(struct rp_sb *sb, const void *p, size_t n)
{
	if (!sb_reserve(sb, n))
		return;
	if (n)
		memcpy(sb->s + sb->len, p, n);
	sb->len += n;
	sb->s[sb->len] = '\0';
}

void rp_sb_puts(struct rp_sb *sb, const char *s)
{
	rp_sb_put(sb, s, strlen(s));
}

void rp_sb_printf(struct rp_sb *sb, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (sb->err)
		return;
	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0) {
		sb->err = RP_E_INVAL;
		return;
	}
	if (!sb_reserve(sb, (size_t)n))
		return;
	va_start(ap, fmt);
	vsnprintf(sb->s + sb->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	sb->len += (size_t)n;
}

char *rp_sb_take(struct rp_sb *sb, size_t *ret_len)
{
	char *s;

	if (sb->err) {
		rp_sb_release(sb);
		return NULL;
	}
	if (!sb->s) {
		if (!sb_reserve(sb, 0))
			return NULL;
		sb->s[0] = '\0'; /* nothing was put: still a string */
	}
	s = sb->s;
	if (ret_len)
		*ret_len = sb->len;
	memset(sb, 0, sizeof(*sb));
	return s;
}

int rp_cursor_line(struct rp_cursor *c, const char **ret_line, size_t *ret_len)
{
	const char *nl;

	if (c->n == 0)
		return 0;
	nl = memchr(c->p, '\n', c->n);
	if (!nl)
		return -1;
	*ret_line = c->p;
	*ret_len = (size_t)(nl - c->p);
	c->n -= *ret_len + 1;
	c->p = nl + 1;
	return 1;
}

bool rp_split_word(const char *line, size_t len, const char **ret_word,
		   size_t *ret_wlen, const char **ret_rest, size_t *ret_rlen)
{
	const char *sp = memchr(line, ' ', len);

	if (!sp)
		return false;
	*ret_word = line;
	*ret_wlen = (size_t)(sp - line);
	*ret_rest = sp + 1;
	*ret_rlen = len - *ret_wlen - 1;
	return true;
}

bool rp_memeq(const char *a, size_t alen, const char *lit)
{
	size_t n = strlen(lit);
	return alen == n && memcmp(a, lit, n) == 0;
}

int rp_expect_field(struct rp_cursor *c, const char *what, const char *name,
		    const char **ret_val, size_t *ret_vlen, struct rp_diag *d)
{
	const char *line, *w;
	size_t len, wlen;
	char q[64];

	if (rp_cursor_line(c, &line, &len) != 1) {
		rp_diagf(d, "%s: missing field `%s'", what, name);
		return RP_E_MALFORMED;
	}
	if (!rp_split_word(line, len, &w, &wlen, ret_val, ret_vlen) || !rp_memeq(w, wlen, name)) {
		rp_quote(q, sizeof(q), line, len);
		rp_diagf(d, "%s: expected field `%s', found `%s'", what, name, q);
		return RP_E_MALFORMED;
	}
	return 0;
}

int rp_hex_decode(const char *hex, size_t hexlen, uint8_t *out, size_t outlen)
{
	if (hexlen != 2 * outlen)
		return RP_E_MALFORMED;
	for (size_t i = 0; i < hexlen; i++) {
		char c = hex[i];
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
			return RP_E_MALFORMED; /* lowercase only: one spelling */
	}
	if (sodium_hex2bin(out, outlen, hex, hexlen, NULL, NULL, NULL) != 0)
		return RP_E_MALFORMED;
	return 0;
}

void rp_hex_encode(const uint8_t *in, size_t n, char *out)
{
	sodium_bin2hex(out, 2 * n + 1, in, n);
}

int rp_b64_decode(const char *s, size_t n, uint8_t *out, size_t outmax,
		  size_t *ret_len)
{
	size_t len = 0;
	const char *end = NULL;

	if (n % 4 != 0)
		return RP_E_MALFORMED;
	if (sodium_base642bin(out, outmax, s, n, NULL, &len, &end,
			      sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    end != s + n)
		return RP_E_MALFORMED;
	/* Reject non-canonical encodings: re-encode and compare. */
	char *re = rp_b64_encode(out, len);
	if (!re)
		return RP_E_NOMEM;
	bool same = strlen(re) == n && memcmp(re, s, n) == 0;
	free(re);
	if (!same)
		return RP_E_MALFORMED;
	*ret_len = len;
	return 0;
}

char *rp_b64_encode(const uint8_t *in, size_t n)
{
	size_t len = sodium_base64_encoded_len(n, sodium_base64_VARIANT_ORIGINAL);
	char *s = malloc(len);

	if (!s)
		return NULL;
	sodium_bin2base64(s, len, in, n, sodium_base64_VARIANT_ORIGINAL);
	return s;
}

int rp_parse_u64(const char *s, size_t n, uint64_t max, uint64_t *ret)
{
	uint64_t v = 0;

	if (n == 0 || n > 20 || (n > 1 && s[0] == '0'))
		return RP_E_MALFORMED;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return RP_E_MALFORMED;
		unsigned d = (unsigned)(s[i] - '0');
		if (v > (UINT64_MAX - d) / 10)
			return RP_E_MALFORMED;
		v = v * 10 + d;
	}
	if (v > max)
		return RP_E_MALFORMED;
	*ret = v;
	return 0;
}

static int days_from_civil(int64_t y, unsigned m, unsigned d, int64_t *ret)
{
	/* Howard Hinnant's algorithm: proleptic Gregorian, no timezone. */
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	unsigned yoe = (unsigned)(y - era * 400);
	unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	*ret = era * 146097 + (int64_t)doe - 719468;
	return 0;
}

int rp_time_parse(const char *s, size_t n, int64_t *ret)
{
	static const char shape[] = "dddd-dd-ddTdd:dd:ddZ";
	unsigned v[6];
	int64_t days;

	if (n != sizeof(shape) - 1)
		return RP_E_MALFORMED;
	for (size_t i = 0; i < n; i++) {
		if (shape[i] == 'd' ? (s[i] < '0' || s[i] > '9') : s[i] != shape[i])
			return RP_E_MALFORMED;
	}
#define D2(i) ((unsigned)(s[i] - '0') * 10 + (unsigned)(s[i + 1] - '0'))
	v[0] = D2(0) * 100 + D2(2);
	v[1] = D2(5);
	v[2] = D2(8);
	v[3] = D2(11);
	v[4] = D2(14);
	v[5] = D2(17);
#undef D2
	static const unsigned mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	if (v[0] < 1970 || v[1] < 1 || v[1] > 12 || v[2] < 1 ||
	    v[2] > mdays[v[1] - 1] || v[3] > 23 || v[4] > 59 || v[5] > 59)
		return RP_E_MALFORMED;
	bool leap = (v[0] % 4 == 0 && v[0] % 100 != 0) || v[0] % 400 == 0;
	if (v[1] == 2 && v[2] == 29 && !leap)
		return RP_E_MALFORMED;
	days_from_civil(v[0], v[1], v[2], &days);
	*ret = days * 86400 + v[3] * 3600 + v[4] * 60 + v[5];
	return 0;
}

void rp_time_format(int64_t t, char out[21])
{
	struct tm tm;
	time_t tt = (time_t)t;

	gmtime_r(&tt, &tm);
	strftime(out, 21, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int64_t rp_now(void)
{
	return (int64_t)time(NULL);
}

void rp_sha256(const void *p, size_t n, uint8_t out[32])
{
	crypto_hash_sha256(out, p, n);
}

void rp_sha256_text(const void *p, size_t n, char out[72])
{
	uint8_t h[32];

	rp_sha256(p, n, h);
	memcpy(out, "sha256:", 7);
	rp_hex_encode(h, 32, out + 7);
}

int rp_read_file(const char *path, size_t max, char **ret, size_t *ret_len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	char *buf = NULL;
	size_t len = 0;
	int r;

	if (fd < 0)
		return errno == ENOENT ? RP_E_NOTFOUND : RP_E_IO;
	if (fstat(fd, &st) != 0) {
		r = RP_E_IO;
		goto out;
	}
	if (S_ISREG(st.st_mode) && (uint64_t)st.st_size > max) {
		r = RP_E_TOOBIG;
		goto out;
	}
	buf = malloc(max + 1);
	if (!buf) {
		r = RP_E_NOMEM;
		goto out;
	}
	for (;;) {
		ssize_t k = read(fd, buf + len, max + 1 - len);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			r = RP_E_IO;
			goto out;
		}
		if (k == 0)
			break;
		len += (size_t)k;
		if (len > max) {
			r = RP_E_TOOBIG;
			goto out;
		}
	}
	buf[len] = '\0';
	*ret = buf;
	*ret_len = len;
	buf = NULL;
	r = 0;
out:
	free(buf);
	close(fd);
	return r;
}

int rp_write_file_atomic(const char *path, const void *p, size_t n, int mode)
{
	char tmp[PATH_MAX], dir[PATH_MAX];
	const char *c = p;
	int fd, r = RP_E_IO;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp))
		return RP_E_TOOBIG;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0)
		return RP_E_IO;
	if (fchmod(fd, (mode_t)mode) != 0)
		goto fail;
	while (n > 0) {
		ssize_t k = write(fd, c, n);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			goto fail;
		}
		c += k;
		n -= (size_t)k;
	}
	if (fsync(fd) != 0)
		goto fail;
	close(fd);
	fd = -1;
	if (rename(tmp, path) != 0)
		goto fail;
	snprintf(dir, sizeof(dir), "%s", path);
	fd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
	return 0;
fail:
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	return r;
}

void rp_random_hex(char *out, size_t nbytes)
{
	uint8_t b[64];

	if (nbytes > sizeof(b))
		nbytes = sizeof(b);
	randombytes_buf(b, nbytes);
	rp_hex_encode(b, nbytes, out);
}
