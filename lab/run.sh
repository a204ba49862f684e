#!/bin/sh
# Installs what the scenario lab needs, then runs it: sudo lab/run.sh [-run REGEXP]
set -eu
need=""
command -v tcpdump >/dev/null 2>&1 || need="$need tcpdump"
command -v ip >/dev/null 2>&1 || need="$need iproute2"
command -v iptables >/dev/null 2>&1 || need="$need iptables"
if [ -n "$need" ]; then
	apt-get update
	DEBIAN_FRONTEND=noninteractive apt-get install -y $need
fi
cd "$(dirname "$0")/.."
exec go run ./lab "$@"
