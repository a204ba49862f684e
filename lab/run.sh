#!/bin/sh
# Installs what the scenario lab needs, then runs it: sudo lab/run.sh [-run REGEXP]
# The servers scenarios run real server software from Debian's packages:
# nginx (nginx-light would do) with its stream module (TCP proxying) and
# haproxy; python3 for http.server.
set -eu
need=""
command -v tcpdump >/dev/null 2>&1 || need="$need tcpdump"
command -v ip >/dev/null 2>&1 || need="$need iproute2"
command -v iptables >/dev/null 2>&1 || need="$need iptables"
command -v curl >/dev/null 2>&1 || need="$need curl"
command -v python3 >/dev/null 2>&1 || need="$need python3"
[ -x /usr/sbin/nginx ] || command -v nginx >/dev/null 2>&1 || need="$need nginx"
[ -f /usr/lib/nginx/modules/ngx_stream_module.so ] || need="$need libnginx-mod-stream"
[ -x /usr/sbin/haproxy ] || command -v haproxy >/dev/null 2>&1 || need="$need haproxy"
if [ -n "$need" ]; then
	apt-get update
	# policy-rc.d 101: the packages' own services are not started; the lab
	# runs its own instances inside its namespaces.
	printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
	chmod +x /usr/sbin/policy-rc.d
	DEBIAN_FRONTEND=noninteractive apt-get install -y $need || { rm -f /usr/sbin/policy-rc.d; exit 1; }
	rm -f /usr/sbin/policy-rc.d
fi
# The tracepoint lives in tracefs; mount it where the lab looks.
if [ ! -d /sys/kernel/tracing/events ]; then
	mount -t tracefs nodev /sys/kernel/tracing
fi
cd "$(dirname "$0")/.."
exec go run ./lab "$@"
