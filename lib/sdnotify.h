/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

/*
 * Readiness and stopping for systemd's Type=notify services, without
 * libsystemd: one datagram to $NOTIFY_SOCKET, the protocol sd_notify(3)
 * documents as stable for reimplementation (docs/dependencies.md). A path
 * or an abstract socket ("@name"); no vsock. Without $NOTIFY_SOCKET (not
 * started by systemd) it does nothing and returns 0. Returns 1 when sent,
 * -1 when the socket is set but the message could not be sent (the caller
 * logs it; the service manager then times the start out).
 */
int rp_notify(const char *state);
