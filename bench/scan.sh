#!/usr/bin/env bash
# scan.sh: rstwhy scan on an archive of many small captures and on one
# large capture, against rstwhy analyze on the same bytes; and the
# rescan of an unchanged archive with --state. Prints a Markdown table.
#
#   bash bench/scan.sh               # from the repository root
#
# Environment:
#   FILES=2000    small captures in the archive
#   SMALL=1M      size of each (K, M, G: powers of 1024)
#   BIG=2G        size of the single large capture
#   REPEAT=3      runs per row; the table shows the fastest
#   KEEP=1        keep the work directory under bench/out/
#
# Figures are whole-process, from /usr/bin/time -v: wall-clock seconds
# and peak RSS. The files are read from the page cache (each row reads
# them once, untimed, first). MB = 10^6 bytes.
set -euo pipefail
{

FILES=${FILES:-2000}
SMALL=${SMALL:-1M}
BIG=${BIG:-2G}
REPEAT=${REPEAT:-3}
KEEP=${KEEP:-0}

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
say() { printf 'scan.sh: %s\n' "$*" >&2; }

if [[ ! -x /usr/bin/time ]]; then
	say "installing time"
	apt-get install -y time >/dev/null
fi

work=$(mktemp -d "$root/bench/out/scan.XXXXXX" 2>/dev/null || { mkdir -p "$root/bench/out"; mktemp -d "$root/bench/out/scan.XXXXXX"; })
if [[ $KEEP != 1 ]]; then
	trap 'rm -rf "$work"' EXIT
fi
say "work directory $work"
go build -o "$work/rstwhy" ./cmd/rstwhy
go build -o "$work/gencap" ./internal/gencap

# Small files: one gencap run each, seeds 1..FILES, a few hundred
# connections open at once (a 1 MiB slice of a busy link holds only
# those), in folders of 100 as a rotated archive lays them out.
mkdir -p "$work/small"
say "writing $FILES captures of $SMALL"
for i in $(seq 1 "$FILES"); do
	d="$work/small/$(( (i - 1) / 100 ))"
	mkdir -p "$d"
	echo "$i $d"
done | xargs -P "$(nproc)" -n 2 sh -c '"$0" -q -conns 300 -size "'"$SMALL"'" -seed "$1" -o "$2/cap-$1.pcap"' "$work/gencap"
say "writing one capture of $BIG"
"$work/gencap" -q -size "$BIG" -seed 1 -o "$work/big.pcap"

small_bytes=$(du -cb "$work/small" | tail -1 | cut -f 1)
big_bytes=$(stat -c %s "$work/big.pcap")
cpus=$(nproc)

# best CMD...: the fastest of REPEAT runs; sets secs and rss (MiB).
best() {
	secs=""
	rss=""
	for _ in $(seq 1 "$REPEAT"); do
		/usr/bin/time -v -o "$work/time" "$@" >/dev/null 2>"$work/stderr" || true
		local s r
		s=$(awk -F': ' '/Elapsed \(wall clock\)/ {n=split($2,a,":"); t=0; for(i=1;i<=n;i++) t=t*60+a[i]; print t}' "$work/time")
		r=$(awk -F': ' '/Maximum resident/ {printf "%d", $2/1024}' "$work/time")
		if [[ -z $secs ]] || awk -v a="$s" -v b="$secs" 'BEGIN{exit !(a<b)}'; then
			secs=$s
			rss=$r
		fi
	done
}

row() { # label bytes files CMD...
	local label=$1 bytes=$2 files=$3
	shift 3
	cat "$work/small"/*/* "$work/big.pcap" >/dev/null 2>&1 || true # page cache
	best "$@"
	awk -v l="$label" -v s="$secs" -v b="$bytes" -v f="$files" -v r="$rss" \
		'BEGIN{printf "| %s | %.2f | %.1f | %.1f | %d |\n", l, s, b/s/1e6, f/s, r}'
	eval "secs_${label//[^a-zA-Z0-9]/_}=$secs"
}

list="$work/list"
find "$work/small" -name '*.pcap' | sort >"$list"

echo "Machine: $(nproc) CPUs, $(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo), Linux $(uname -r), $(go version | cut -d ' ' -f 3)"
echo "Archive: $FILES files of $SMALL ($(awk -v b="$small_bytes" 'BEGIN{printf "%.0f", b/1e6}') MB); one file of $BIG ($(awk -v b="$big_bytes" 'BEGIN{printf "%.0f", b/1e6}') MB); fastest of $REPEAT"
echo
echo "| run | seconds | MB/s | files/s | peak RSS (MiB) |"
echo "|---|---:|---:|---:|---:|"
for j in 1 "$cpus"; do
	row "scan small -j $j" "$small_bytes" "$FILES" "$work/rstwhy" scan -j "$j" --summary none "$work/small"
	row "analyze small -j $j" "$small_bytes" "$FILES" xargs -a "$list" "$work/rstwhy" analyze -f jsonl -j "$j"
	row "scan big -j $j" "$big_bytes" 1 "$work/rstwhy" scan -j "$j" --summary none "$work/big.pcap"
	row "analyze big -j $j" "$big_bytes" 1 "$work/rstwhy" analyze -f jsonl -j "$j" "$work/big.pcap"
done

# Incremental: a first scan with --state, then a rescan with nothing
# changed.
# Each run of the first scan starts from no state.
row "first scan with --state -j $cpus" "$small_bytes" "$FILES" sh -c 'rm -f "$1/state" "$1/out.jsonl"; exec "$1/rstwhy" scan -j "$2" --summary none --state "$1/state" -o "$1/out.jsonl" "$1/small"' sh "$work" "$cpus"
first=$secs
rescan=""
for _ in $(seq 1 "$REPEAT"); do
	/usr/bin/time -v -o "$work/time" "$work/rstwhy" scan -j "$cpus" --summary none --state "$work/state" -o "$work/out.jsonl" "$work/small" >/dev/null 2>&1
	s=$(awk -F': ' '/Elapsed \(wall clock\)/ {n=split($2,a,":"); t=0; for(i=1;i<=n;i++) t=t*60+a[i]; print t}' "$work/time")
	if [[ -z $rescan ]] || awk -v a="$s" -v b="$rescan" 'BEGIN{exit !(a<b)}'; then rescan=$s; fi
done
awk -v s="$rescan" -v f="$FILES" 'BEGIN{printf "| rescan with --state, nothing changed | %.2f | | %.0f | |\n", s, f/s}'
echo
awk -v a="$secs_scan_small__j_1" -v b="$secs_scan_big__j_1" -v sb="$small_bytes" -v bb="$big_bytes" \
	'BEGIN{printf "Small files against the big file, one worker: %.0f%% of its MB/s.\n", (sb/a)/(bb/b)*100}'
eval "sa=\$secs_scan_small__j_$cpus; sb2=\$secs_scan_big__j_$cpus"
awk -v a="$sa" -v b="$sb2" -v sb="$small_bytes" -v bb="$big_bytes" -v c="$cpus" \
	'BEGIN{printf "Small files against the big file, %d workers: %.0f%% of its MB/s.\n", c, (sb/a)/(bb/b)*100}'
awk -v r="$rescan" -v f="$first" 'BEGIN{printf "Unchanged rescan: %.2f%% of the first scan'"'"'s time.\n", r/f*100}'
}
