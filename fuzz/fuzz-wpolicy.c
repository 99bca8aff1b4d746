/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tlog-policy lines (log / witness / group / quorum). The input is split
 * at '\n' and fed to rp_wpolicy_line until a line is refused (a refused
 * line must change nothing and carry a diagnostic). What was accepted is
 * written by rp_wpolicy_format; that text must be accepted line by line
 * again, describe the same policy, and format to the same bytes; and
 * rp_wpolicy_finish must agree on both. Group members always name earlier
 * witnesses or groups, so quorum evaluation cannot loop.
 * Seeds: fuzz/corpus/wpolicy.
 */
#include <stdint.h>
#include <string.h>

#include "checkpoint.h"
#include "fuzz-common.h"
#include "rp_err.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	FUZZ_CHECK(sodium_init() >= 0);
	return 0;
}

/* Feeds s line by line (a last line without '\n' too); stops at a refusal. */
static size_t feed(struct rp_wpolicy *wp, const char *s, size_t size, bool must_accept)
{
	size_t lines = 0;

	while (size > 0) {
		const char *nl = memchr(s, '\n', size);
		size_t len = nl ? (size_t)(nl - s) : size;
		struct rp_wpolicy *before = malloc(sizeof(*before));
		struct rp_diag d = {""};
		int r;

		FUZZ_CHECK(before != NULL);
		memcpy(before, wp, sizeof(*wp));
		r = rp_wpolicy_line(wp, s, len, &d);
		if (r != 0) {
			FUZZ_CHECK(!must_accept);
			FUZZ_CHECK(r == RP_E_MALFORMED || r == RP_E_TOOBIG);
			FUZZ_CHECK(d.msg[0] != '\0');
			FUZZ_CHECK(memcmp(before, wp, sizeof(*wp)) == 0);
			free(before);
			break;
		}
		free(before);
		lines++;
		s += len + (nl ? 1 : 0);
		size -= len + (nl ? 1 : 0);
	}
	return lines;
}

static void check_shape(const struct rp_wpolicy *wp)
{
	FUZZ_CHECK(wp->nwitnesses <= RP_POLICY_WITNESSES_MAX);
	FUZZ_CHECK(wp->ngroups <= RP_WITNESS_GROUPS_MAX);
	for (size_t i = 0; i < wp->ngroups; i++) {
		const struct rp_wgroup *g = &wp->groups[i];
		FUZZ_CHECK(g->nmembers >= 1 && g->threshold >= 1 && g->threshold <= g->nmembers);
		for (size_t j = 0; j < g->nmembers; j++) {
			unsigned m = g->members[j];
			if (m < RP_POLICY_WITNESSES_MAX)
				FUZZ_CHECK(m < wp->nwitnesses);
			else
				FUZZ_CHECK(m - RP_POLICY_WITNESSES_MAX <
					   i); /* earlier groups only */
		}
	}
	if (wp->have_quorum && wp->quorum >= 0) {
		if (wp->quorum < RP_POLICY_WITNESSES_MAX)
			FUZZ_CHECK((size_t)wp->quorum < wp->nwitnesses);
		else
			FUZZ_CHECK((size_t)(wp->quorum - RP_POLICY_WITNESSES_MAX) < wp->ngroups);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct rp_wpolicy wp, wp2;
	struct rp_sb sb, sb2;

	memset(&wp, 0, sizeof(wp));
	feed(&wp, (const char *)data, size, false);
	check_shape(&wp);

	rp_sb_init(&sb, 1 << 20);
	rp_wpolicy_format(&wp, &sb);
	FUZZ_CHECK(sb.err == 0);
	memset(&wp2, 0, sizeof(wp2));
	if (sb.len > 0)
		feed(&wp2, sb.s, sb.len, true);
	FUZZ_CHECK(wp2.have_log == wp.have_log && wp2.have_quorum == wp.have_quorum);
	FUZZ_CHECK(wp2.nwitnesses == wp.nwitnesses && wp2.ngroups == wp.ngroups);
	FUZZ_CHECK(!wp.have_quorum || wp2.quorum == wp.quorum);
	FUZZ_CHECK((rp_wpolicy_finish(&wp, NULL) == 0) == (rp_wpolicy_finish(&wp2, NULL) == 0));
	for (size_t i = 0; i < wp.ngroups; i++) {
		FUZZ_CHECK(wp2.groups[i].threshold == wp.groups[i].threshold);
		FUZZ_CHECK(wp2.groups[i].nmembers == wp.groups[i].nmembers);
		FUZZ_CHECK(memcmp(wp2.groups[i].members, wp.groups[i].members,
				  wp.groups[i].nmembers * sizeof(wp.groups[i].members[0])) == 0);
	}
	for (size_t i = 0; i < wp.nwitnesses; i++)
		FUZZ_CHECK(memcmp(&wp2.witnesses[i].key, &wp.witnesses[i].key,
				  sizeof(wp.witnesses[i].key)) == 0);

	rp_sb_init(&sb2, 1 << 20);
	rp_wpolicy_format(&wp2, &sb2);
	FUZZ_CHECK(sb2.err == 0 && sb2.len == sb.len);
	FUZZ_CHECK(sb.len == 0 || memcmp(sb.s, sb2.s, sb.len) == 0);
	rp_sb_release(&sb);
	rp_sb_release(&sb2);
	return 0;
}
