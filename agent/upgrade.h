/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/* agent/upgrade.c: an `upgrade' command's release checked, fetched and installed. */

#include <stddef.h>

#include "release.h"
#include "state.h"
#include "statement.h"

/* The installer a release is handed to (its path the last word), unless --installer says. */
#define AGENT_INSTALLER_DEFAULT "/usr/bin/dpkg -i"
/* agent run's exit status once an upgrade is installed: main runs the new binary. */
#define AGENT_EXIT_UPGRADED 11

/*
 * The payload of the verified upgrade c as a release this device takes:
 * of its org (RP_E_ORG), its architecture or `all' (RP_E_TARGET), newer
 * than any version it has run (RP_E_ROLLBACK), why saying which.
 */
int agent_upgrade_check(const struct agent *a, const struct rp_command *c, const uint8_t *payload,
			size_t len, struct rp_release **ret, char *why, size_t n);
/*
 * The package fetched through the network process into DIR/upgrade/<sha256>.deb
 * (0600, root's), path set: 0 once it is exactly rel's size and hash,
 * RP_E_PAYLOAD when it is not (nothing kept), another error when the
 * fetch failed.
 */
int agent_upgrade_fetch(struct agent *a, const struct rp_release *rel, char *path, size_t pn,
			char *why, size_t n);
/* The script `exec INSTALLER 'PATH''; malloc'd. */
char *agent_upgrade_script(const char *installer, const char *path, size_t *ret_len);
/* The version upgrade.state records (the last installed), "" when none. */
void agent_upgrade_installed(const struct agent *a, char out[RP_RELEASE_VERSION_MAX + 1]);
/* Installed: the package file removed, rel's version recorded (upgrade.state). */
int agent_upgrade_done(struct agent *a, const struct rp_release *rel, const char *path);
