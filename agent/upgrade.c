/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Upgrades (docs/upgrades.md): an `upgrade' command that passed every
 * check of DESIGN.md section 4 (so its payload, the release text, hashes
 * to what the exec quorum signed) is applied here. The release must be of
 * this org, of package rampart-agent and of this build's architecture,
 * and newer than every version this device has run (upgrade.state: the
 * highest installed, and this binary's own): an older or equal one is a
 * rollback and refused. The package is fetched piece by piece through the
 * network process into a file only root reads, hashed as it arrives, and
 * installed only if it is exactly the signed size and SHA-256. The
 * installer is this machine's (--installer, default dpkg -i), never the
 * server's word.
 */
#include "upgrade.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "privsep.h"
#include "rp_err.h"

#define UPGRADE_STATE "upgrade.state"
#define UPGRADE_DIR   "upgrade"

static int write_all(int fd, const uint8_t *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

void agent_upgrade_installed(const struct agent *a, char out[RP_RELEASE_VERSION_MAX + 1])
{
	char path[600], *s = NULL;
	size_t n = 0;

	out[0] = '\0';
	snprintf(path, sizeof(path), "%s/" UPGRADE_STATE, a->dir);
	if (rp_read_file_flags(path, RP_RELEASE_VERSION_MAX + 1, RP_FILE_NOFOLLOW, &s, &n, NULL) ==
	    0) {
		while (n && s[n - 1] == '\n')
			n--;
		if (rp_release_version_valid(s, n))
			snprintf(out, RP_RELEASE_VERSION_MAX + 1, "%.*s", (int)n, s);
		else
			agent_logf("%s does not hold a version: ignored", path);
	}
	free(s);
}

/* The newest of the version upgrade.state records and this binary's. */
static void running_version(const struct agent *a, char out[RP_RELEASE_VERSION_MAX + 1])
{
	char installed[RP_RELEASE_VERSION_MAX + 1];

	snprintf(out, RP_RELEASE_VERSION_MAX + 1, "%s", RP_VERSION);
	agent_upgrade_installed(a, installed);
	if (installed[0] && (!rp_release_version_valid(out, strlen(out)) ||
			     rp_release_version_cmp(installed, out) > 0))
		snprintf(out, RP_RELEASE_VERSION_MAX + 1, "%s", installed);
}

int agent_upgrade_check(const struct agent *a, const struct rp_command *c, const uint8_t *payload,
			size_t len, struct rp_release **ret, char *why, size_t n)
{
	struct rp_release *rel = NULL;
	struct rp_diag d = {""};
	char have[RP_RELEASE_VERSION_MAX + 1];
	int r;

	if ((r = rp_release_parse_text((const char *)payload, len, &rel, &d)) < 0) {
		snprintf(why, n, "upgrade %s: its payload is not a release statement: %s", c->id,
			 d.msg);
		return r;
	}
	if (strcmp(rel->org, a->conf.org) != 0) {
		snprintf(why, n, "upgrade %s names a release of org %s, not %s", c->id, rel->org,
			 a->conf.org);
		rp_release_free(rel);
		return RP_E_ORG;
	}
	if (strcmp(rel->arch, RP_DEB_ARCH) != 0 && strcmp(rel->arch, "all") != 0) {
		snprintf(why, n, "upgrade %s is a release for %s; this device is %s", c->id,
			 rel->arch, RP_DEB_ARCH);
		rp_release_free(rel);
		return RP_E_TARGET;
	}
	running_version(a, have);
	if (rp_release_version_valid(have, strlen(have)) &&
	    rp_release_version_cmp(rel->version, have) <= 0) {
		snprintf(why, n,
			 "upgrade %s to %s refused: not newer than %s, which this device has run "
			 "(a rollback)",
			 c->id, rel->version, have);
		rp_release_free(rel);
		return RP_E_ROLLBACK;
	}
	*ret = rel;
	return 0;
}

int agent_upgrade_fetch(struct agent *a, const struct rp_release *rel, char *path, size_t pn,
			char *why, size_t n)
{
	crypto_hash_sha256_state hs;
	struct rp_diag d = {""};
	char dir[600], hex[65], req[300];
	uint8_t h[32];
	uint64_t at = 0;
	int fd, r = 0;

	rp_hex_encode(rel->hash, 32, hex);
	snprintf(dir, sizeof(dir), "%s/" UPGRADE_DIR, a->dir);
	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		snprintf(why, n, "cannot make %s: %s", dir, strerror(errno));
		return RP_E_IO;
	}
	snprintf(path, pn, "%s/%s.deb", dir, hex);
	unlink(path);
	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600)) < 0) {
		snprintf(why, n, "cannot create %s: %s", path, strerror(errno));
		return RP_E_IO;
	}
	crypto_hash_sha256_init(&hs);
	while (at < rel->size && r == 0) {
		struct agent_answer ans;
		size_t want = rel->size - at < RP_PACKAGE_CHUNK ? (size_t)(rel->size - at)
								: RP_PACKAGE_CHUNK;
		struct agent_call call = {.method = "GET",
					  .path = req,
					  .timeout_ms = RP_AGENT_REQUEST_S * 1000L,
					  .max_body = want,
					  .kind = AGENT_ANS_BYTES};

		agent_answer_init(&ans);
		snprintf(req, sizeof(req), "/v1/orgs/%s/packages/%s?offset=%llu", a->conf.org, hex,
			 (unsigned long long)at);
		r = agent_net_call(a, &call, &ans, &d);
		if (r < 0 || ans.kind != AGENT_ANS_BYTES) {
			snprintf(why, n, "fetching the package at byte %llu: %s",
				 (unsigned long long)at, r < 0 ? d.msg : "an answer without bytes");
			r = r < 0 ? r : RP_E_HTTP;
		} else if (ans.dl.payload_len != want) {
			snprintf(why, n,
				 "the server sent %zu bytes of the package at byte %llu, not %zu: "
				 "not the signed package",
				 ans.dl.payload_len, (unsigned long long)at, want);
			r = RP_E_PAYLOAD;
		} else if (write_all(fd, ans.dl.payload, want) < 0) {
			snprintf(why, n, "writing %s: %s", path, strerror(errno));
			r = RP_E_IO;
		} else {
			crypto_hash_sha256_update(&hs, ans.dl.payload, want);
			at += want;
			r = 0; /* agent_net_call returned the status, 200 */
		}
		agent_answer_release(&ans);
	}
	if (r == 0 && fsync(fd) < 0) {
		snprintf(why, n, "syncing %s: %s", path, strerror(errno));
		r = RP_E_IO;
	}
	close(fd);
	if (r == 0) {
		crypto_hash_sha256_final(&hs, h);
		/* every byte, and the hash of exactly those: the only way to 0 */
		if (at != rel->size || sodium_memcmp(h, rel->hash, 32) != 0) {
			snprintf(why, n,
				 "the package the server sent does not hash to the signed "
				 "sha256:%s: not installed",
				 hex);
			r = RP_E_PAYLOAD;
		}
	}
	if (r != 0)
		unlink(path);
	return r < 0 ? r : r == 0 ? 0 : RP_E_HTTP;
}

char *agent_upgrade_script(const char *installer, const char *path, size_t *ret_len)
{
	struct rp_sb sb;

	rp_sb_init(&sb, RP_PAYLOAD_MAX);
	rp_sb_printf(&sb, "exec %s ", installer);
	rp_sb_shell_word(&sb, path);
	rp_sb_puts(&sb, "\n");
	return rp_sb_take(&sb, ret_len);
}

int agent_upgrade_done(struct agent *a, const struct rp_release *rel, const char *path)
{
	char state[600];
	char line[RP_RELEASE_VERSION_MAX + 2];
	int r;

	unlink(path);
	snprintf(state, sizeof(state), "%s/" UPGRADE_STATE, a->dir);
	snprintf(line, sizeof(line), "%s\n", rel->version);
	if ((r = rp_write_file_atomic(state, line, strlen(line), 0600)) < 0)
		agent_logf("cannot record release %s in %s: %s", rel->version, state,
			   rp_strerror(r));
	return r;
}
