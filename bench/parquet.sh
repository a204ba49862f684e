#!/usr/bin/env bash
# What --format parquet costs over --format jsonl: the same capture, the
# whole process under /usr/bin/time -v, the two formats run in turn
# (jsonl, parquet, jsonl, ...) so that a slow minute of a shared machine
# falls on both. jsonl goes to a file in the same directory as the
# Parquet, as a user would keep it; JSONL_OUT=/dev/null measures the
# encoding alone.
#
#   bash bench/parquet.sh CAPTURE [PAIRS]      (from the repository root)
#
# Prints one line a run and, per format, the median wall and CPU seconds
# and peak RSS, and the medians of the pairs' ratios parquet/jsonl.
set -euo pipefail
capture=${1:?usage: bash bench/parquet.sh CAPTURE [PAIRS]}
pairs=${2:-5}
command -v /usr/bin/time >/dev/null || { apt-get update -qq && apt-get install -y -qq time >/dev/null; }
work=$(mktemp -d bench/out/parquet.XXXXXX 2>/dev/null || { mkdir -p bench/out && mktemp -d bench/out/parquet.XXXXXX; })
trap 'rm -rf "$work"' EXIT
jsonl=${JSONL_OUT:-$work/out.jsonl}
go build -o "$work/rstwhy" ./cmd/rstwhy
cat "$capture" >/dev/null # into the page cache, untimed

run() { # format: prints wall user+sys rss
	local t=$work/time
	if [[ $1 == parquet ]]; then
		/usr/bin/time -v -o "$t" "$work/rstwhy" analyze -j 1 -f parquet -o "$work/pq" "$capture" 2>/dev/null
	else
		/usr/bin/time -v -o "$t" "$work/rstwhy" analyze -j 1 -f jsonl -o "$jsonl" "$capture" 2>/dev/null
	fi
	awk -F': ' '/Elapsed \(wall clock\)/ {n=split($2,a,":"); w=(n==3)?a[1]*3600+a[2]*60+a[3]:a[1]*60+a[2]}
		/User time/ {u=$2} /System time/ {s=$2} /Maximum resident/ {m=$2}
		END {printf "%.2f %.2f %d\n", w, u+s, m/1024}' "$t"
}
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2)? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

: >"$work/runs"
for i in $(seq "$pairs"); do
	j=$(run jsonl); p=$(run parquet)
	echo "pair $i: jsonl $j | parquet $p (wall s, cpu s, peak RSS MiB)" >&2
	echo "$j $p" >>"$work/runs"
done
"$work/rstwhy" analyze -j 1 -f jsonl "$capture" 2>/dev/null | wc -lc | {
	read -r lines bytes
	echo "capture: $capture ($(stat -c %s "$capture") bytes), $lines records; jsonl $bytes bytes (to $jsonl), parquet $(du -sb "$work/pq" | cut -f1) bytes"
}
for col in "1 jsonl wall" "2 jsonl cpu" "3 jsonl rss" "4 parquet wall" "5 parquet cpu" "6 parquet rss"; do
	set -- $col
	echo "median $2 $3: $(awk -v c="$1" '{print $c}' "$work/runs" | median)"
done
echo "median of pair ratios parquet/jsonl: wall $(awk '{print $4/$1}' "$work/runs" | median), cpu $(awk '{print $5/$2}' "$work/runs" | median), rss $(awk '{print $6/$3}' "$work/runs" | median)"
