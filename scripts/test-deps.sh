#!/usr/bin/env bash
# test-deps.sh — install what `make test` needs beyond Go, idempotently.
#
# The compatibility suites (tests/zkcli, tests/differential) run the real
# Apache ZooKeeper 3.8 as an oracle and drive it with its own zkCli.sh, so the
# tests need Debian's `zookeeper` package (server jars, zkCli.sh, and through
# default-jre a Java runtime). When everything is present this script only
# checks and exits; otherwise it installs the package with apt-get, running
# `apt-get update` only then. Safe to run any number of times.
#
# Runs as root (CI) or through sudo (a developer machine).
set -euo pipefail

PKG=zookeeper
ZK_JAR=/usr/share/java/zookeeper.jar
ZK_CLI=/usr/share/zookeeper/bin/zkCli.sh

log() { echo "test-deps: $*"; }
die() { echo "test-deps: $*" >&2; exit 1; }

pkg_installed() {
	[ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null || true)" = installed ]
}

# ready succeeds when the package, its jars, zkCli.sh and a working java are
# present; it leaves the first line of `java -version` in JAVA_VERSION.
JAVA_VERSION=
ready() {
	pkg_installed "$PKG" && [ -r "$ZK_JAR" ] && [ -x "$ZK_CLI" ] &&
		command -v java >/dev/null 2>&1 && JAVA_VERSION=$(java -version 2>&1 | head -n1) &&
		[ -n "$JAVA_VERSION" ]
}

if ready; then
	log "$PKG $(dpkg-query -W -f='${Version}' "$PKG") and $JAVA_VERSION already installed"
	exit 0
fi

command -v apt-get >/dev/null 2>&1 ||
	die "$PKG (Apache ZooKeeper 3.8 + a JRE) is missing and apt-get is not available; install them by hand"

SUDO=()
if [ "$(id -u)" -ne 0 ]; then
	command -v sudo >/dev/null 2>&1 || die "not root and no sudo: run this script as root"
	SUDO=(sudo)
fi

export DEBIAN_FRONTEND=noninteractive
APT=("${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 -o Dpkg::Use-Pty=0)

log "installing $PKG (apt-get update first)"
"${APT[@]}" update -qq
"${APT[@]}" install -y -qq --no-install-recommends "$PKG" >/dev/null

ready || die "$PKG installed but $ZK_JAR, $ZK_CLI or a working java is still missing"
log "installed $PKG $(dpkg-query -W -f='${Version}' "$PKG") and $JAVA_VERSION"
