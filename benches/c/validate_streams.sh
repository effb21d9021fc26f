#!/bin/sh
# mpmt's bandwidth beside the plain C stream loop (stream.c), cell by cell:
# every copying channel at 4 KiB, 64 KiB and 1 MiB (mq at 4 KiB: its
# messages are at most fs.mqueue.msgsize_max), one CPU and across two,
# untouched/transfer-only and touched. The host's speed drifts from
# minute to minute, so each cell alternates the two tools REPS times and
# compares their medians: a drift that moves both moves both.
#
#   benches/c/validate_streams.sh [REPS]     (from `make validate-streams`)
#
# Needs target/release/mpmt and target/c-baselines/stream. Nothing else
# may run meanwhile.
set -eu
REPS=${1:-3}
MPMT=${MPMT:-target/release/mpmt}
CLOOP=${CLOOP:-target/c-baselines/stream}
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT

median() { sort -g | awk '{v[NR]=$1} END {print (NR%2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }

printf '%-11s %6s %-9s %-13s %8s %8s %6s\n' channel chunk placement mode "C GB/s" "mpmt" "ratio"
for cell in "pipe 4096" "pipe 65536" "pipe 1048576" \
	"unix 4096" "unix 65536" "unix 1048576" \
	"seqpacket 4096" "seqpacket 65536" "seqpacket 1048576" \
	"mq 4096"; do
	set -- $cell
	ch=$1 size=$2
	case $ch in unix) mch=unix-socket ;; *) mch=$ch ;; esac
	for place in same-cpu cross-cpu; do
		case $place in same-cpu) cpus="0 0" ;; *) cpus="0 1" ;; esac
		: >"$OUT/c-untouched" ; : >"$OUT/c-touched"
		: >"$OUT/m-untouched" ; : >"$OUT/m-touched"
		r=0
		while [ $r -lt "$REPS" ]; do
			for m in untouched touched; do
				$CLOOP $ch $size $m $cpus 3 | awk '{print $5}' >>"$OUT/c-$m"
			done
			rm -rf "$OUT/run"
			$MPMT run bandwidth --backend fork --channel $mch --sizes $size \
				--placement $place --rounds 3 --max-rounds 3 --out "$OUT/run" >/dev/null 2>&1
			awk -F, 'NR > 1 { print ($4 == "transfer-only" ? "untouched" : "touched"), $15 / 1e9 }' \
				"$OUT"/run/2*/results.csv | while read -r m v; do echo "$v" >>"$OUT/m-$m"; done
			r=$((r + 1))
		done
		for m in untouched touched; do
			c=$(median <"$OUT/c-$m")
			v=$(median <"$OUT/m-$m")
			label=$m
			[ $m = untouched ] && label=transfer-only
			printf '%-11s %6s %-9s %-13s %8.2f %8.2f %6.2f\n' $mch $size $place $label "$c" "$v" \
				"$(echo "$v $c" | awk '{print $1 / $2}')"
		done
	done
done
