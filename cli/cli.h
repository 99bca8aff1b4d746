/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <stdbool.h>
#include <stdio.h>

#include "client/api.h"
#include "note.h"
#include "policy.h"

/*
 * Settings, from (strongest first) command-line options, the environment
 * (RAMPART_SERVER, RAMPART_PIN, RAMPART_ORG, RAMPART_KEY, RAMPART_TOKEN)
 * and the config file ($RAMPART_CONFIG, else ~/.config/rampart/config).
 */
struct cli {
	char config_path[512];
	char config_dir[512];
	char server[256];
	char pin[72];
	char org[RP_ORG_NAME_MAX + 1];
	char key_path[512];
	char token[256];
	bool json;
	struct rp_skey key;
	bool key_loaded;
	struct rp_api api;
};

struct cli_cmd {
	const char *name;
	int (*fn)(struct cli *c, int argc, char *argv[]);
	const char *help;
};

/* Errors go to stderr as "rampart: <what>: <why>". */
void cli_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

int cli_need_server(struct cli *c, bool need_key);
int cli_load_key(struct cli *c, const char *path, struct rp_skey *ret);
int cli_confirm(const char *question);
/* "30s", "10m", "24h", "7d" or a YYYY-MM-DDTHH:MM:SSZ time. */
int cli_parse_when(const char *s, int64_t now, int64_t *ret);
int cli_trusted_policy_path(const struct cli *c, const char *org, char *out, size_t n);
bool cli_is_help(int argc, char *argv[]);

int cmd_key(struct cli *c, int argc, char *argv[]);
int cmd_org(struct cli *c, int argc, char *argv[]);
int cmd_policy(struct cli *c, int argc, char *argv[]);
int cmd_enroll_token(struct cli *c, int argc, char *argv[]);
int cmd_devices(struct cli *c, int argc, char *argv[]);
int cmd_run(struct cli *c, int argc, char *argv[]);
int cmd_approve(struct cli *c, int argc, char *argv[]);
int cmd_commands(struct cli *c, int argc, char *argv[]);
int cmd_results(struct cli *c, int argc, char *argv[]);
int cmd_alerts(struct cli *c, int argc, char *argv[]);
int cmd_note(struct cli *c, int argc, char *argv[]);
int cmd_token(struct cli *c, int argc, char *argv[]);
int cmd_config(struct cli *c, int argc, char *argv[]);
int cmd_audit(struct cli *c, int argc, char *argv[]);
