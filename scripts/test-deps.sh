#!/usr/bin/env bash
# test-deps.sh — install what `make test` needs beyond Go, idempotently.
#
# The compatibility suites (tests/zkcli, tests/differential) run the real
# Apache ZooKeeper 3.8 as an oracle and drive it with its own zkCli.sh, so the
# tests need Debian's `zookeeper` package (server jars, zkCli.sh, and through
# default-jre a Java runtime). The SDK's recipe tests check that a Go process
# and an Apache Curator process exclude each other on the same lock path, so
# they need Debian's Curator recipes and a JDK to compile the small Java side.
# When everything is present this script only checks and exits; otherwise it
# installs the packages with apt-get, running `apt-get update` only then. Safe
# to run any number of times.
#
# Runs as root (CI) or through sudo (a developer machine).
set -euo pipefail

PKG=zookeeper
PKGS=(zookeeper libcurator-recipes-java default-jdk-headless)
ZK_JAR=/usr/share/java/zookeeper.jar
CURATOR_JAR=/usr/share/java/curator-recipes.jar
ZK_CLI=/usr/share/zookeeper/bin/zkCli.sh

log() { echo "test-deps: $*"; }
die() { echo "test-deps: $*" >&2; exit 1; }

pkg_installed() {
	[ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null || true)" = installed ]
}

# ready succeeds when the packages, their jars, zkCli.sh, a working java and
# javac are present; it leaves the first line of `java -version` in
# JAVA_VERSION.
JAVA_VERSION=
ready() {
	for p in "${PKGS[@]}"; do pkg_installed "$p" || return 1; done
	[ -r "$ZK_JAR" ] && [ -r "$CURATOR_JAR" ] && [ -x "$ZK_CLI" ] &&
		command -v javac >/dev/null 2>&1 &&
		command -v java >/dev/null 2>&1 && JAVA_VERSION=$(java -version 2>&1 | head -n1) &&
		[ -n "$JAVA_VERSION" ]
}

if ready; then
	log "$PKG $(dpkg-query -W -f='${Version}' "$PKG") and $JAVA_VERSION already installed"
	exit 0
fi

command -v apt-get >/dev/null 2>&1 ||
	die "${PKGS[*]} (Apache ZooKeeper 3.8, Curator, a JDK) are missing and apt-get is not available; install them by hand"

SUDO=()
if [ "$(id -u)" -ne 0 ]; then
	command -v sudo >/dev/null 2>&1 || die "not root and no sudo: run this script as root"
	SUDO=(sudo)
fi

export DEBIAN_FRONTEND=noninteractive
APT=("${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 -o Dpkg::Use-Pty=0)

log "installing ${PKGS[*]} (apt-get update first)"
"${APT[@]}" update -qq
"${APT[@]}" install -y -qq --no-install-recommends "${PKGS[@]}" >/dev/null

ready || die "${PKGS[*]} installed but $ZK_JAR, $CURATOR_JAR, $ZK_CLI, java or javac is still missing"
log "installed $PKG $(dpkg-query -W -f='${Version}' "$PKG") and $JAVA_VERSION"
