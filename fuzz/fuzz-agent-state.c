/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The agent's own state files (agent/state.c): agent.conf must format back
 * to the bytes it parsed from; a line of the executed record that parses
 * names a well-formed id, mark and time, and formats back to its bytes;
 * membership.state formats back to its bytes; alerts.log's tally stays
 * within its bounds. The first byte chooses the parser.
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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data + 1;
	size_t len = size ? size - 1 : 0;

	if (size == 0)
		return 0;
	if ((data[0] & 7) == 4) {
		/* alerts.log counted (rampart-agent status): bounded, never past the buffer */
		static struct agent_alert_tally t;
		size_t sum = 0;
		memset(&t, 0, sizeof(t));
		agent_alerts_tally(text, len, (int64_t)(data[0] >> 3) * 100000000, &t);
		FUZZ_CHECK(t.ncodes <= AGENT_TALLY_CODES_MAX && t.security <= t.total &&
			   t.refusals <= t.total);
		for (size_t i = 0; i < t.ncodes; i++)
			sum += t.codes[i].n;
		FUZZ_CHECK(sum + t.other_codes == t.total);
		FUZZ_CHECK(strlen(t.last) < sizeof(t.last));
		return 0;
	}
	if ((data[0] & 3) == 2) {
		/* membership.state: parses, and formats back to exactly its bytes */
		static struct agent a;
		size_t olen;
		char *t;
		if (agent_member_parse(text, len, &a, NULL) != 0)
			return 0;
		FUZZ_CHECK(a.nmember <= AGENT_MEMBER_MAX);
		t = agent_member_format(&a, &olen);
		FUZZ_CHECK(t && olen == len && memcmp(t, text, len) == 0);
		free(t);
		return 0;
	}
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
		struct agent_record rec, back;
		char line[RP_EXECUTED_LINE_MAX];
		int n;
		if (agent_record_parse(text, len, &rec) != 0)
			return 0;
		FUZZ_CHECK(strlen(rec.id) == RP_ID_HEX && rp_id_valid(rec.id, RP_ID_HEX));
		FUZZ_CHECK(rec.mark >= MARK_STARTED && rec.mark <= MARK_REFUSED && rec.t >= 0);
		/* One spelling: the line formats back to exactly its bytes. */
		n = agent_record_format(&rec, line, sizeof(line));
		FUZZ_CHECK(n > 0 && (size_t)n == len + 1 && memcmp(line, text, len) == 0);
		FUZZ_CHECK(agent_record_parse(line, (size_t)n - 1, &back) == 0);
		FUZZ_CHECK(strcmp(rec.id, back.id) == 0 && rec.mark == back.mark &&
			   rec.t == back.t);
	}
	return 0;
}
