#!/usr/bin/env bash
# compare.sh: time rstwhy against the decoding ceiling, tcpdump, tcptrace
# and tshark on one synthetic capture, and print a Markdown table.
#
#   bash bench/compare.sh [SIZE]        # from the repository root; SIZE defaults to 1G
#
# Environment:
#   SIZE=1G          capture size (K, M, G suffixes; the argument wins)
#   SEED=1           gencap seed
#   CONNS=20000      gencap -conns
#   SHORT=1          gencap -short: short connections, the packets/s worst case
#   SNAPLEN=96       gencap -snaplen: cut every packet to this many bytes
#   KEEP=1           keep the work directory under bench/out/
#   SKIP_TSHARK=1    do not run tshark
#   TSHARK_MAX=256M  above this size tshark reads a cut of the file (TSHARK_CUT)
#   TSHARK_CUT=100M  size of that cut
#   TIMEOUT=3600     seconds any one tool may run
#   REPEAT=1         runs per tool; the table shows the fastest
#
# Every figure is whole-process, from /usr/bin/time -v: wall-clock seconds
# and peak RSS, start-up and output included. The file is read from the
# page cache (each row reads it once, untimed, first). See bench/README.md.
set -euo pipefail
# The braces make bash read the whole script before running it, so that
# editing the file during a run cannot change what the run does.
{

SIZE=${1:-${SIZE:-1G}}
SEED=${SEED:-1}
CONNS=${CONNS:-20000}
SHORT=${SHORT:-0}
SNAPLEN=${SNAPLEN:-0}
KEEP=${KEEP:-0}
SKIP_TSHARK=${SKIP_TSHARK:-0}
TSHARK_MAX=${TSHARK_MAX:-256M}
TSHARK_CUT=${TSHARK_CUT:-100M}
TIMEOUT=${TIMEOUT:-3600}
REPEAT=${REPEAT:-1}

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

say() { printf 'compare: %s\n' "$*" >&2; }

# bytes turns 100M / 1G / 4096 into a byte count (powers of 1024).
bytes() {
	local s=${1^^}
	s=${s%B}
	s=${s%I}
	case $s in
	*K) echo $(( ${s%K} * 1024 )) ;;
	*M) echo $(( ${s%M} * 1024 * 1024 )) ;;
	*G) echo $(( ${s%G} * 1024 * 1024 * 1024 )) ;;
	*) echo $(( s )) ;;
	esac
}

load=$(cut -d ' ' -f 1-3 /proc/loadavg)

# --- tools -------------------------------------------------------------
sudo=
if [[ $(id -u) != 0 ]] && command -v sudo >/dev/null; then
	sudo=sudo
fi
missing=()
command -v tcpdump >/dev/null || missing+=(tcpdump)
command -v tcptrace >/dev/null || missing+=(tcptrace)
[[ -x /usr/bin/time ]] || missing+=(time)
if [[ $SKIP_TSHARK != 1 ]]; then
	command -v tshark >/dev/null || missing+=(tshark)
fi
if ((${#missing[@]})); then
	if command -v apt-get >/dev/null; then
		say "installing ${missing[*]}"
		$sudo apt-get update -qq >/dev/null || say "apt-get update failed"
		for p in "${missing[@]}"; do
			# One at a time: a package missing from the archive must not
			# stop the others.
			DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$p" >/dev/null ||
				say "could not install $p"
		done
	else
		say "no apt-get: cannot install ${missing[*]}"
	fi
fi
if [[ ! -x /usr/bin/time ]]; then
	say "/usr/bin/time is required (Debian package: time)"
	exit 1
fi

# --- work directory ----------------------------------------------------
mkdir -p bench/out
work=$(mktemp -d bench/out/run.XXXXXX)
cleanup() {
	if [[ $KEEP == 1 ]]; then
		say "kept $work"
	else
		rm -rf "$work"
	fi
}
trap cleanup EXIT

# --- build -------------------------------------------------------------
say "building"
go build -o "$work/gencap" ./internal/gencap
go build -o "$work/ceiling" ./bench/ceiling
rstwhy_note=
if [[ -d cmd/rstwhy ]]; then
	if ! go build -o "$work/rstwhy" ./cmd/rstwhy 2>"$work/rstwhy-build.log"; then
		rstwhy_note="did not build: $(head -n 1 "$work/rstwhy-build.log")"
		rm -f "$work/rstwhy"
	fi
else
	rstwhy_note="./cmd/rstwhy does not exist yet"
fi

# --- capture -----------------------------------------------------------
genflags=(-seed "$SEED" -conns "$CONNS")
[[ $SHORT == 1 ]] && genflags+=(-short)
[[ $SNAPLEN != 0 ]] && genflags+=(-snaplen "$SNAPLEN")
file=$work/bench.pcap
say "generating $SIZE (seed $SEED, $CONNS connections at once)"
"$work/gencap" -size "$SIZE" "${genflags[@]}" -o "$file" 2>"$work/gencap.log"
gencap_summary=$(cat "$work/gencap.log")
file_bytes=$(stat -c %s "$file")

# --- measuring ---------------------------------------------------------
# Results, one row per tool, in run order.
declare -a row_name row_secs row_bytes row_pkts row_rss row_rsts row_note
pair_ratios=()

# run_once CMD...: run CMD once under /usr/bin/time -v and the timeout,
# stdout to $stdout; set run_rc, run_secs and run_rss.
run_once() {
	local tv=$work/time el
	# Warm the page cache first: every row should time CPU work, not
	# whichever disk read the row before it left undone.
	cat "$warm" >/dev/null
	run_rc=0
	/usr/bin/time -v -o "$tv" timeout "$TIMEOUT" "$@" >"$stdout" 2>"$work/err" || run_rc=$?
	el=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$tv")
	run_rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$tv")
	rm -f "$tv"
	# h:mm:ss or m:ss.ss to seconds
	run_secs=$(awk -v t="$el" 'BEGIN { n = split(t, p, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + p[i]; printf "%.2f", s }')
}

# keep_fastest VAR_SECS VAR_RSS: after run_once, keep its figures in the
# two variables when it was the fastest run so far.
keep_fastest() {
	local -n ks=$1 kr=$2
	if [[ -z $ks ]] || awk -v a="$run_secs" -v b="$ks" 'BEGIN { exit !(a < b) }'; then
		ks=$run_secs kr=$run_rss
	fi
}

# push_row NAME BYTES PACKETS SECS RSS NOTE: append a row.
push_row() {
	row_name+=("$1")
	row_bytes+=("$2")
	row_pkts+=("$3")
	row_secs+=("$4")
	row_rss+=("$5")
	row_rsts+=("")
	row_note+=("$6")
}

# add_row NAME BYTES PACKETS SECS RSS RC: a row for a tool that ran.
add_row() {
	local note=
	if (($6 == 124)); then
		note="timed out after ${TIMEOUT}s"
	elif (($6 != 0)); then
		note="failed (exit $6): $(head -c 120 "$work/err" | tr '\n|' '  ')"
	fi
	push_row "$1" "$2" "$3" "$4" "$5" "$note"
	last_rc=$6
}

# measure NAME BYTES PACKETS CMD...: run CMD REPEAT times and add a row
# with the fastest run. A tool that fails gets a row saying so; the
# script goes on.
measure() {
	local name=$1 nbytes=$2 npkts=$3
	shift 3
	local best= best_rss= i
	for ((i = 1; i <= REPEAT; i++)); do
		if ((REPEAT > 1)); then say "running $name ($i/$REPEAT)"; else say "running $name"; fi
		run_once "$@"
		((run_rc == 0)) || break
		keep_fastest best best_rss
	done
	((run_rc == 0)) || best=$run_secs best_rss=$run_rss
	add_row "$name" "$nbytes" "$npkts" "$best" "$best_rss" "$run_rc"
}

set_last() { # set_last FIELD VALUE: fill the last row's RSTs or note
	local i=$((${#row_name[@]} - 1))
	case $1 in
	rsts) row_rsts[i]=$2 ;;
	note) row_note[i]=${row_note[i]:+${row_note[i]}; }$2 ;;
	esac
}
skip() { # skip NAME NOTE: a row for a tool that did not run
	push_row "$1" "" "" "" "" "$2"
}

warm=$file
stdout=/dev/null
measure "cat (read the file)" "$file_bytes" "" cat "$file"
stdout=$work/out

measure "ceiling (bench/ceiling)" "$file_bytes" "" "$work/ceiling" "$file"
packets=$(awk '$1 == "packets" {print $2}' "$work/out")
set_last rsts "$(awk '$1 == "rsts" {print $2}' "$work/out")"
set_last note "$(awk '$1 == "flows" {print $2}' "$work/out") flows"
if [[ -z $packets ]]; then
	say "the ceiling printed no packet count"
	exit 1
fi
row_pkts[0]=$packets
row_pkts[1]=$packets

if [[ -x $work/rstwhy ]]; then
	# -j 1 and -j N run in turn, REPEAT times: on a machine whose speed
	# drifts, a ratio of runs taken side by side holds still where one of
	# runs taken minutes apart does not. The ratio of each pair is kept
	# and the summary gives their median.
	np=$(nproc)
	stdout=/dev/null
	s1= r1= sn= rn= rc1=0 rcn=0 pair_ratios=()
	for ((i = 1; i <= REPEAT; i++)); do
		say "running rstwhy analyze -j 1 and -j $np ($i/$REPEAT)"
		run_once "$work/rstwhy" analyze --format jsonl -j 1 "$file"
		rc1=$run_rc
		((rc1 == 0)) || { s1=$run_secs r1=$run_rss; break; }
		keep_fastest s1 r1
		one=$run_secs
		run_once "$work/rstwhy" analyze --format jsonl -j "$np" "$file"
		rcn=$run_rc
		((rcn == 0)) || { sn=$run_secs rn=$run_rss; break; }
		keep_fastest sn rn
		pair_ratios+=("$(awk -v a="$one" -v b="$run_secs" 'BEGIN { if (b > 0) printf "%.3f", a / b }')")
	done
	for j in 1 "$np"; do
		if ((j == 1)); then
			add_row "rstwhy analyze -j 1" "$file_bytes" "$packets" "$s1" "$r1" "$rc1"
		else
			((rc1 == 0)) || { skip "rstwhy analyze -j $np" "not run: -j 1 failed"; continue; }
			add_row "rstwhy analyze -j $np" "$file_bytes" "$packets" "$sn" "$rn" "$rcn"
		fi
		if ((last_rc == 0)); then
			# Counted in a second, untimed run: the timed one writes
			# to /dev/null like the others.
			lines=$("$work/rstwhy" analyze --format jsonl -j "$j" "$file" | wc -l) || lines=
			set_last rsts "${lines// /} lines"
		fi
	done
	stdout=$work/out
	# -j 1 runs one worker, but the Go runtime still collects garbage on
	# the other cores: pinned to one CPU it is a one-core run.
	if command -v taskset >/dev/null && ((last_rc == 0)); then
		stdout=/dev/null
		measure "rstwhy analyze -j 1, one CPU (taskset -c 0)" "$file_bytes" "$packets" \
			taskset -c 0 "$work/rstwhy" analyze --format jsonl -j 1 "$file"
		stdout=$work/out
	fi
	# What the machine gives work like rstwhy's on all its CPUs: one
	# one-worker process per CPU, each on the whole file, at once. The
	# CPUs share caches and memory (and, on a VM, whatever the host
	# shares), so this is the most -j N can hope for, measured.
	if ((np > 1)); then
		stdout=/dev/null
		measure "rstwhy analyze -j 1, $np processes at once" "$((file_bytes * np))" "$((packets * np))" \
			bash -c 'pids=(); for ((i = 0; i < $1; i++)); do "$2" analyze --format jsonl -j 1 "$3" >/dev/null & pids+=($!); done
				for p in "${pids[@]}"; do wait "$p" || exit 1; done' _ "$np" "$work/rstwhy" "$file"
		set_last note "each on the whole file; figures for all $np together"
		stdout=$work/out
	fi
else
	skip "rstwhy analyze -j 1" "$rstwhy_note"
	skip "rstwhy analyze -j $(nproc)" "$rstwhy_note"
fi

measure "tcpdump (RST filter)" "$file_bytes" "$packets" \
	tcpdump -nr "$file" 'tcp[tcpflags] & tcp-rst != 0'
((last_rc == 0)) && set_last rsts "$(wc -l <"$work/out" | tr -d ' ')"
set_last note "BPF tcp[] matches IPv4 only: IPv6 RSTs not counted"

if command -v tcptrace >/dev/null; then
	measure "tcptrace -n" "$file_bytes" "$packets" tcptrace -n "$file"
	if ((last_rc == 0)); then
		set_last note "$(awk '/packets seen/ {print $1 " packets seen"; exit}' "$work/out")"
	fi
else
	skip "tcptrace -n" "not installed"
fi

if [[ $SKIP_TSHARK == 1 ]]; then
	skip "tshark (RST filter)" "SKIP_TSHARK=1"
elif ! command -v tshark >/dev/null; then
	skip "tshark (RST filter)" "not installed"
else
	tfile=$file tbytes=$file_bytes tpkts=$packets tnote=
	if ((file_bytes > $(bytes "$TSHARK_MAX"))); then
		# The same seed at a smaller size writes the same packets and
		# stops sooner: the cut is the first TSHARK_CUT of the file.
		tfile=$work/cut.pcap
		"$work/gencap" -size "$TSHARK_CUT" "${genflags[@]}" -o "$tfile" 2>"$work/cut.log"
		tbytes=$(stat -c %s "$tfile")
		tpkts=$(awk '{print $2; exit}' "$work/cut.log")
		tnote="on the first $TSHARK_CUT (gencap -size $TSHARK_CUT, same seed); figures per MB of that cut"
	fi
	warm=$tfile
	measure "tshark (RST filter)" "$tbytes" "$tpkts" \
		tshark -r "$tfile" -Y 'tcp.flags.reset==1' -T fields -e frame.number
	((last_rc == 0)) && set_last rsts "$(wc -l <"$work/out" | tr -d ' ')"
	[[ -n $tnote ]] && set_last note "$tnote"
	rm -f "$work/cut.pcap"
fi
rm -f "$work/out" "$work/err"

# --- report ------------------------------------------------------------
mbps() { # mbps BYTES SECS
	awk -v b="$1" -v s="$2" 'BEGIN { if (b == "" || s == "" || s <= 0) print ""; else printf "%.1f", b / 1e6 / s }'
}
pps() { # pps PACKETS SECS
	awk -v p="$1" -v s="$2" 'BEGIN { if (p == "" || s == "" || s <= 0) print ""; else printf "%.0f", p / s }'
}
ratio() { # ratio A B: A/B
	awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || b <= 0) print ""; else printf "%.2f", a / b }'
}

n=${#row_name[@]}
declare -a row_mbps
ceiling_mbps= tshark_mbps=
for ((i = 0; i < n; i++)); do
	row_mbps[i]=$(mbps "${row_bytes[i]}" "${row_secs[i]}")
	[[ -n ${row_note[i]} && ${row_note[i]} == failed* ]] && row_mbps[i]=
	case ${row_name[i]} in
	ceiling*) ceiling_mbps=${row_mbps[i]} ;;
	tshark*) tshark_mbps=${row_mbps[i]} ;;
	esac
done

cpu=$(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)
mem=$(awk '/MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo)
echo "## rstwhy benchmark, $(date -u +%Y-%m-%dT%H:%MZ)"
echo
echo "- machine: $(nproc) CPUs, ${cpu:-unknown CPU}, $mem memory, Linux $(uname -r); load average at start $load"
echo "- $(go version)"
versions=
for p in tcpdump tcptrace tshark; do
	v=$(dpkg-query -W -f='${Version}' "$p" 2>/dev/null || true)
	versions+="${versions:+, }$p ${v:-?}"
done
echo "- tools: $versions"
echo "- each tool run $REPEAT time(s), the fastest shown"
echo "- capture: $(awk -v b="$file_bytes" 'BEGIN { printf "%.1f MB", b / 1e6 }'), $packets packets, pcap (µs), Ethernet; gencap -size $SIZE ${genflags[*]}"
echo "- ${gencap_summary#gencap: }"
echo
echo "| tool | seconds | MB/s | packets/s | peak RSS (MiB) | RSTs found | × tshark | × ceiling | note |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|---|"
for ((i = 0; i < n; i++)); do
	rss=
	[[ -n ${row_rss[i]} ]] && rss=$(awk -v k="${row_rss[i]}" 'BEGIN { printf "%.0f", k / 1024 }')
	pk=$(pps "${row_pkts[i]}" "${row_secs[i]}")
	[[ -z ${row_mbps[i]} ]] && pk=
	vt= vc=
	case ${row_name[i]} in
	rstwhy*)
		vt=$(ratio "${row_mbps[i]}" "$tshark_mbps")
		vc=$(ratio "${row_mbps[i]}" "$ceiling_mbps")
		;;
	esac
	secs=${row_secs[i]}
	[[ $secs == 0.00 ]] && secs="<0.01"
	printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' \
		"${row_name[i]}" "$secs" "${row_mbps[i]}" "$pk" "$rss" \
		"${row_rsts[i]}" "${vt:+${vt}×}" "${vc:+${vc}×}" "${row_note[i]}"
done
echo
echo "MB = 10^6 bytes of the capture file. × columns compare MB/s."
j1= jn= pin= par=
for ((i = 0; i < n; i++)); do
	case ${row_name[i]} in
	"rstwhy analyze -j 1") j1=${row_mbps[i]} ;;
	"rstwhy analyze -j $(nproc)") jn=${row_mbps[i]} ;;
	"rstwhy analyze -j 1, one CPU"*) pin=${row_mbps[i]} ;;
	"rstwhy analyze -j 1, "*" processes at once") par=${row_mbps[i]} ;;
	esac
done
if [[ -n $jn && -n $j1 ]] && (($(nproc) > 1)); then
	line="rstwhy on all $(nproc) CPUs: $(ratio "$jn" "$j1")× -j 1"
	[[ -n $pin ]] && line+=", $(ratio "$jn" "$pin")× -j 1 on one CPU"
	if ((${#pair_ratios[@]} > 1)); then
		line+=" (fastest runs); median of ${#pair_ratios[@]} side-by-side pairs with -j 1: $(printf '%s\n' "${pair_ratios[@]}" | sort -n |
			awk '{ v[NR] = $1 } END { printf "%.2f", NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }')×"
	fi
	[[ -n $par ]] && line+="; $(nproc) one-worker processes at once: $(ratio "$par" "$j1")× -j 1"
	echo
	echo "$line."
fi
exit
}
