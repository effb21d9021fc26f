#!/bin/sh
# mpmt's bandwidth beside the plain C stream loop (stream.c), cell by cell:
# every copying channel at 4 KiB, 64 KiB and 1 MiB (mq at 4 KiB: its
# messages are at most fs.mqueue.msgsize_max), one CPU and across two,
# untouched/transfer-only and touched.
#
# The two tools are measured alike and in pairs. One pair is one C
# process of nine windows (their median), then one mpmt run of three
# rounds of about three windows each (the median of its pooled
# windows): in both, one writer process streams about nine windows. Not
# three C processes of three windows: on the AMD VM a stream's first
# window or two after its writer starts often read up to 1.7x the
# windows after them (seqpacket 4 KiB across, 2026-12-03), and mpmt's
# writer starts once a run, so three C writers would carry three such
# starts to mpmt's one. A cell's ratio is the median of its REPS pairs'
# ratios (mpmt / C), so a drift that moves both tools within a pair
# cancels, and its range is printed beside it. Across CPUs each pair is bracketed by
# the cache-line round trip between the two CPUs (line_rtt): a pair whose
# two floors differ by more than 1.5x ran while the host moved its vCPUs
# (SMT siblings, one CCX, two) and is not a comparison, so it is dropped
# and counted; the floor column is the kept pairs' median. So is a pair
# in which other tasks took more than 10 % of the CPUs (busy ticks in
# /proc/stat less the tools' own, as mpmt's `contended` warning counts).
#
#   benches/c/validate_streams.sh [REPS]     (from `make validate-streams`)
#
# CELLS (e.g. "unix 65536,mq 4096") and PLACES ("same-cpu", "cross-cpu")
# narrow the run to some cells.
#
# Needs target/release/mpmt, target/c-baselines/stream and
# target/c-baselines/line_rtt. Nothing else may run meanwhile.
set -eu
REPS=${1:-5}
MPMT=${MPMT:-target/release/mpmt}
CLOOP=${CLOOP:-target/c-baselines/stream}
LINE=${LINE:-target/c-baselines/line_rtt}
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT

median() { sort -g | awk '{v[NR]=$1} END {print (NR%2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }
# Ticks (USER_HZ) the CPUs spent busy in tasks, the ticks this script's
# waited-for children (both tools, line_rtt) ran, and the uptime in ticks.
busy_ticks() { awk '$1 == "cpu" {print $2 + $3 + $4}' /proc/stat; }
# (`times` must run in this shell, not in a $(...) subshell, whose
# children are its own.)
child_ticks() {
	times >"$OUT/times"
	awk 'NR == 2 {
		t = 0
		for (i = 1; i <= 2; i++) { split($i, a, "m"); t += a[1] * 60 + a[2] }
		printf "%.0f\n", t * 100 }' "$OUT/times"
}
uptime_ticks() { awk '{printf "%.0f\n", $1 * 100}' /proc/uptime; }
NCPU=$(getconf _NPROCESSORS_ONLN)
floor_ns() { $LINE 0 1 9 | awk '{for (i = 1; i < NF; i++) if ($i == "floor") print $(i + 1)}'; }

printf '%-11s %6s %-9s %-13s %7s %7s %6s %-11s %5s %7s\n' \
	channel chunk placement mode "C GB/s" "mpmt" "ratio" "range" "pairs" "line ns"
CELLS=${CELLS:-pipe 4096,pipe 65536,pipe 1048576,unix 4096,unix 65536,unix 1048576,seqpacket 4096,seqpacket 65536,seqpacket 1048576,mq 4096}
PLACES=${PLACES:-same-cpu cross-cpu}
echo "$CELLS" | tr , '\n' >"$OUT/cells"
while read -r cell <&3; do
	set -- $cell
	ch=$1 size=$2
	case $ch in unix) mch=unix-socket ;; *) mch=$ch ;; esac
	for place in $PLACES; do
		case $place in same-cpu) cpus="0 0" ;; *) cpus="0 1" ;; esac
		for f in c-untouched c-touched m-untouched m-touched r-untouched r-touched floors; do
			: >"$OUT/$f"
		done
		moved=0 contended=0
		r=0
		while [ $r -lt "$REPS" ]; do
			r=$((r + 1))
			child_ticks >"$OUT/c0"
			b0=$(busy_ticks) u0=$(uptime_ticks)
			[ $place = cross-cpu ] && before=$(floor_ns)
			for m in untouched touched; do
				STREAM_EVERY_WINDOW=1 $CLOOP $ch $size $m $cpus 9 |
					awk '$1 == "windows" {for (i = 2; i <= NF; i++) print $i}' >"$OUT/pair-c-$m"
			done
			rm -rf "$OUT/run"
			$MPMT run bandwidth --backend fork --channel $mch --sizes $size \
				--placement $place --rounds 3 --max-rounds 3 --out "$OUT/run" >/dev/null 2>&1
			[ $place = cross-cpu ] && after=$(floor_ns)
			# Other tasks' share of the CPUs over the pair, as mpmt's
			# `contended` warning counts it: over 10 % (and 10 ticks),
			# the pair is not a comparison.
			child_ticks >"$OUT/c1"
			other=$(($(busy_ticks) - b0 - $(cat "$OUT/c1") + $(cat "$OUT/c0")))
			cap=$((($(uptime_ticks) - u0) * NCPU))
			if [ $other -ge 10 ] && [ $((other * 10)) -gt $cap ]; then
				contended=$((contended + 1))
				continue
			fi
			if [ $place = cross-cpu ]; then
				if ! echo "$before $after" | awk '{exit !($1 <= 1.5 * $2 && $2 <= 1.5 * $1)}'; then
					moved=$((moved + 1))
					continue
				fi
				echo "$before $after" | awk '{print ($1 + $2) / 2}' >>"$OUT/floors"
			fi
			awk -F, 'NR > 1 { print ($4 == "transfer-only" ? "untouched" : "touched"), $15 / 1e9 }' \
				"$OUT"/run/2*/results.csv >"$OUT/pair-m"
			for m in untouched touched; do
				c=$(median <"$OUT/pair-c-$m")
				v=$(awk -v m=$m '$1 == m {print $2}' "$OUT/pair-m")
				echo "$c" >>"$OUT/c-$m"
				echo "$v" >>"$OUT/m-$m"
				echo "$v $c" | awk '{print $1 / $2}' >>"$OUT/r-$m"
			done
		done
		floor=-
		[ -s "$OUT/floors" ] && floor=$(median <"$OUT/floors")
		for m in untouched touched; do
			label=$m
			[ $m = untouched ] && label=transfer-only
			if [ ! -s "$OUT/r-$m" ]; then
				printf '%-11s %6s %-9s %-13s %7s %7s %6s %-11s %2d/%-2d %7s\n' $mch $size $place $label \
					- - - - 0 "$REPS" "$floor"
				continue
			fi
			range=$(sort -g "$OUT/r-$m" | awk 'NR == 1 {lo = $1} {hi = $1} END {printf "%.2f-%.2f", lo, hi}')
			printf '%-11s %6s %-9s %-13s %7.2f %7.2f %6.2f %-11s %2d/%-2d %7s\n' $mch $size $place $label \
				"$(median <"$OUT/c-$m")" "$(median <"$OUT/m-$m")" "$(median <"$OUT/r-$m")" \
				"$range" $((REPS - moved - contended)) "$REPS" "$floor"
		done
	done
done 3<"$OUT/cells"
