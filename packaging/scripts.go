package main

// The maintainer scripts, POSIX sh. They work where systemd is not PID 1
// (a container, a chroot): every systemctl call is guarded by
// [ -d /run/systemd/system ].

// addUser creates the fedrs system group and user, the fedrs-noc group
// (the read-only control socket's group) and /var/lib/fedrs. Idempotent.
const addUser = `
if ! getent group fedrs >/dev/null; then
	groupadd --system fedrs
fi
if ! getent group fedrs-noc >/dev/null; then
	groupadd --system fedrs-noc
fi
if ! getent passwd fedrs >/dev/null; then
	useradd --system --gid fedrs --home-dir /var/lib/fedrs --no-create-home \
		--shell /usr/sbin/nologin --comment "fedrs route server" fedrs
fi
mkdir -p /var/lib/fedrs
chown fedrs:fedrs /var/lib/fedrs
chmod 0750 /var/lib/fedrs
# The configuration may hold secrets (TCP-MD5 keys, tokens): readable by
# the service's group, not by everyone.
if [ -d /etc/fedrs ]; then
	chgrp fedrs /etc/fedrs
	chmod 0750 /etc/fedrs
fi
`

// debPostinst: on configure, the user and state directory; under systemd
// a daemon-reload, and a restart when the unit is enabled (an upgrade: the
// old binary kept running until now). A first install leaves the service disabled: the shipped
// configuration has no members, and the operator enables it once it has.
const debPostinst = `#!/bin/sh
set -e
case "$1" in
configure)
` + addUser + `
	if [ -d /run/systemd/system ]; then
		systemctl --system daemon-reload >/dev/null || true
		if deb-systemd-helper --quiet is-enabled fedrs.service; then
			deb-systemd-invoke restart fedrs.service || true
		fi
	fi
	;;
abort-upgrade|abort-remove|abort-deconfigure)
	;;
*)
	echo "postinst called with unknown argument '$1'" >&2
	exit 1
	;;
esac
exit 0
`

// debPrerm stops the service on remove. An upgrade leaves it running
// (debhelper's restart-after-upgrade): postinst restarts it once the new
// files are in place, so the outage is one restart, not the whole unpack.
const debPrerm = `#!/bin/sh
set -e
case "$1" in
remove|deconfigure)
	if [ -d /run/systemd/system ]; then
		deb-systemd-invoke stop fedrs.service >/dev/null || true
	fi
	;;
upgrade|failed-upgrade)
	;;
*)
	echo "prerm called with unknown argument '$1'" >&2
	exit 1
	;;
esac
exit 0
`

// debPostrm: remove keeps /var/lib/fedrs (the history); purge removes it
// and /etc/fedrs, and keeps the user and groups (Debian practice: files
// elsewhere may still belong to them).
const debPostrm = `#!/bin/sh
set -e
case "$1" in
purge)
	rm -rf /var/lib/fedrs /etc/fedrs
	if [ -d /run/systemd/system ]; then
		systemctl --system daemon-reload >/dev/null || true
	fi
	;;
remove)
	if [ -d /run/systemd/system ]; then
		systemctl --system daemon-reload >/dev/null || true
	fi
	;;
upgrade|failed-upgrade|abort-install|abort-upgrade|disappear)
	;;
*)
	echo "postrm called with unknown argument '$1'" >&2
	exit 1
	;;
esac
exit 0
`

// RPM's scripts take a count of installed instances instead ($1: 1 on
// install, 2 on upgrade; 0 on erase). RPM has no purge: erasing keeps
// /var/lib/fedrs and a changed configuration (as .rpmsave).
const rpmPost = `#!/bin/sh
` + addUser + `
if [ -d /run/systemd/system ]; then
	systemctl --system daemon-reload >/dev/null 2>&1 || true
	if [ "$1" -ge 2 ] && systemctl --quiet is-enabled fedrs.service 2>/dev/null; then
		systemctl try-restart fedrs.service || true
	fi
fi
exit 0
`

const rpmPreun = `#!/bin/sh
if [ "$1" -eq 0 ] && [ -d /run/systemd/system ]; then
	systemctl --no-reload disable --now fedrs.service >/dev/null 2>&1 || true
fi
exit 0
`
