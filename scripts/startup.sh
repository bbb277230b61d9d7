#!/bin/sh
# Start-up figures of jumpgate against OpenSSH's client (docs/perf.md,
# "Start-up"): the package initialisers' work (GODEBUG=inittrace=1), the
# wall time, CPU time and page faults of `jumpgate version` against
# `ssh -V` and a static Go hello-world, and the binary's size.
#
#   scripts/startup.sh [BINARY]
#
# Without BINARY, the Makefile's build target (what users run) builds one
# into a temporary directory. perf stat runs the commands in alternating
# rounds so that the machine's noise falls on all of them; the figures are
# medians over the rounds. Knobs: ROUNDS (default 10), REPEAT (runs per
# round, default 10), INITRUNS (inittrace runs, default 20).
set -eu

ROUNDS=${ROUNDS:-10}
REPEAT=${REPEAT:-10}
INITRUNS=${INITRUNS:-20}

command -v perf >/dev/null || { echo "startup: perf is missing: apt-get install -y linux-perf" >&2; exit 1; }
command -v ssh >/dev/null || { echo "startup: ssh is missing: apt-get install -y openssh-client" >&2; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
root=$(cd "$(dirname "$0")/.." && pwd)

if [ $# -ge 1 ]; then
	bin=$(realpath "$1")
else
	make -s -C "$root" build OUT="$tmp/jumpgate" >/dev/null
	bin=$tmp/jumpgate
fi

mkdir "$tmp/hello"
cat >"$tmp/hello/main.go" <<'EOF'
package main

import "os"

func main() { os.Stdout.WriteString("hello\n") }
EOF
printf 'module hello\n\ngo 1.22\n' >"$tmp/hello/go.mod"
(cd "$tmp/hello" && CGO_ENABLED=0 go build -o "$tmp/hello-go" .)

median() { sort -n | awk '{v[NR]=$1} END{if (NR%2) print v[(NR+1)/2]; else print (v[NR/2]+v[NR/2+1])/2}'; }

echo "binary: $bin"
echo "size: $(stat -c %s "$bin") bytes"
if command -v size >/dev/null; then size "$bin" | tail -1 | awk '{print "sections: text " $1 ", data " $2 ", bss " $3}'; fi

# inittrace: per run, the sum over packages of clock ms, bytes and allocs.
i=0
while [ $i -lt "$INITRUNS" ]; do
	GODEBUG=inittrace=1 "$bin" version 2>&1 >/dev/null | awk '/^init /{c+=$5; b+=$8; a+=$10; n++} END{printf "%.3f %d %d %d\n", c, b, a, n}' >>"$tmp/init"
	GODEBUG=inittrace=1 "$bin" version 2>&1 >/dev/null | awk '/^init /{print $2, $5}' >>"$tmp/initpkg"
	i=$((i + 1))
done
printf 'inittrace (median of %d): %s ms, %s bytes, %s allocs, %s packages\n' "$INITRUNS" \
	"$(cut -d' ' -f1 "$tmp/init" | median)" "$(cut -d' ' -f2 "$tmp/init" | median)" \
	"$(cut -d' ' -f3 "$tmp/init" | median)" "$(cut -d' ' -f4 "$tmp/init" | median)"
echo "inittrace, costliest packages (median ms):"
for p in $(cut -d' ' -f1 "$tmp/initpkg" | sort -u); do
	printf '%s %s\n' "$(awk -v p="$p" '$1==p{print $2}' "$tmp/initpkg" | median)" "$p"
done | sort -rn | head -8 | awk '{printf "  %-8s %s\n", $1, $2}'

# perf stat, alternating rounds: duration (ns), task-clock (ms), page faults.
measure() { # name, command...
	name=$1
	shift
	perf stat -x, -o "$tmp/perf" -e duration_time,task-clock,page-faults -r "$REPEAT" "$@" >/dev/null 2>&1
	awk -F, -v n="$name" '$3=="duration_time"{d=$1/1e6} $3=="task-clock"{t=$1} $3=="page-faults"{f=$1} END{print n, d, t, f}' "$tmp/perf" >>"$tmp/stat"
}
r=0
while [ $r -lt "$ROUNDS" ]; do
	if [ $((r % 2)) -eq 0 ]; then
		measure jumpgate "$bin" version
		measure ssh ssh -V
		measure hello "$tmp/hello-go"
	else
		measure hello "$tmp/hello-go"
		measure ssh ssh -V
		measure jumpgate "$bin" version
	fi
	r=$((r + 1))
done
col() { awk -v n="$1" -v c="$2" '$1==n{print $c}' "$tmp/stat" | median; }
printf 'perf stat (median of %d rounds of %d runs):\n' "$ROUNDS" "$REPEAT"
printf '  %-18s %9s %12s %11s\n' command "wall ms" "task-clock ms" "page faults"
for n in jumpgate ssh hello; do
	case $n in
	jumpgate) label="jumpgate version" ;;
	ssh) label="ssh -V" ;;
	hello) label="Go hello-world" ;;
	esac
	printf '  %-18s %9.2f %12.2f %11.0f\n' "$label" "$(col $n 2)" "$(col $n 3)" "$(col $n 4)"
done
awk -v a="$(col jumpgate 2)" -v b="$(col ssh 2)" 'BEGIN{printf "jumpgate version / ssh -V: %.2f (wall)\n", a/b}'
