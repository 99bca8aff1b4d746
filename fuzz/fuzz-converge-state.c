/* SPDX-License-Identifier: Apache-2.0 */
/*
 * converge.state as agent/converge.c reads it (conv_state_parse): it
 * decides which accounts Rampart may rewrite, so what parses must be one
 * the agent could have written. A state that parses holds at most its caps,
 * every id in the managed range (never root's, never nobody's), users and
 * groups each sorted and unique, and formats (conv_state_format) to exactly
 * the bytes it was parsed from: one text per state. Seeds:
 * fuzz/corpus/converge-state.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "converge.h"
#include "fuzz-common.h"
#include "rp_err.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	FUZZ_CHECK(sodium_init() >= 0);
	return 0;
}

static int managed(uint32_t id)
{
	return id >= 1000 && id < 65534;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct conv_state st, back;
	struct rp_diag d;
	size_t len;
	char *s;
	int r;

	r = conv_state_parse((const char *)data, size, &st, &d);
	FUZZ_CHECK(r == 0 || r == RP_E_MALFORMED || r == RP_E_TOOBIG || r == RP_E_NOMEM);
	if (r != 0)
		return 0;
	FUZZ_CHECK(st.nusers <= RP_CONV_USERS_MAX);
	FUZZ_CHECK(st.ngroups <= RP_CONV_USERS_MAX + RP_CONV_GROUPS_MAX);
	for (size_t i = 0; i < st.nusers; i++) {
		FUZZ_CHECK(managed(st.users[i].uid) && managed(st.users[i].gid));
		FUZZ_CHECK(strlen(st.users[i].login) >= 1 &&
			   strcmp(st.users[i].login, "root") != 0);
		FUZZ_CHECK(i == 0 || strcmp(st.users[i - 1].login, st.users[i].login) < 0);
	}
	for (size_t i = 0; i < st.ngroups; i++) {
		FUZZ_CHECK(managed(st.groups[i].gid));
		FUZZ_CHECK(i == 0 || strcmp(st.groups[i - 1].name, st.groups[i].name) < 0);
	}
	s = conv_state_format(&st, &len);
	FUZZ_CHECK(s != NULL);
	FUZZ_CHECK(len == size && memcmp(s, data, size) == 0);
	FUZZ_CHECK(conv_state_parse(s, len, &back, NULL) == 0);
	FUZZ_CHECK(back.nusers == st.nusers && back.ngroups == st.ngroups &&
		   back.pending == st.pending);
	FUZZ_CHECK(st.nusers == 0 ||
		   memcmp(back.users, st.users, st.nusers * sizeof(*st.users)) == 0);
	FUZZ_CHECK(st.ngroups == 0 ||
		   memcmp(back.groups, st.groups, st.ngroups * sizeof(*st.groups)) == 0);
	free(s);
	conv_state_release(&back);
	conv_state_release(&st);
	return 0;
}
