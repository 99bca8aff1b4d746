/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The agent's own state files (agent/state.c): agent.conf must format back
 * to the bytes it parsed from; a line of the executed record that parses
 * names a well-formed id and mark, and parses again from its canonical form.
 * The first byte chooses the parser.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "fuzz-common.h"
#include "state.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	FUZZ_CHECK(sodium_init() >= 0);
	return 0;
}

static const char *const marks[] = {"none", "started", "reported", "refused"};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data + 1;
	size_t len = size ? size - 1 : 0;

	if (size == 0)
		return 0;
	if (data[0] & 1) {
		struct agent_conf c, back;
		char buf[1024];
		int n;
		if (agent_conf_parse(text, len, &c, NULL) != 0)
			return 0;
		n = agent_conf_format(&c, buf, sizeof(buf));
		FUZZ_CHECK(n > 0 && (size_t)n == len && memcmp(buf, text, len) == 0);
		FUZZ_CHECK(agent_conf_parse(buf, (size_t)n, &back, NULL) == 0);
		FUZZ_CHECK(memcmp(&c, &back, sizeof(c)) == 0);
	} else {
		char id[RP_ID_HEX + 1], id2[RP_ID_HEX + 1], line[128];
		enum exec_mark m, m2;
		int n;
		if (agent_record_parse(text, len, id, &m) != 0)
			return 0;
		FUZZ_CHECK(strlen(id) == RP_ID_HEX && rp_id_valid(id, RP_ID_HEX));
		FUZZ_CHECK(m >= MARK_STARTED && m <= MARK_REFUSED);
		n = snprintf(line, sizeof(line), "%s %s 0", id, marks[m]);
		FUZZ_CHECK(agent_record_parse(line, (size_t)n, id2, &m2) == 0);
		FUZZ_CHECK(strcmp(id, id2) == 0 && m == m2);
	}
	return 0;
}
