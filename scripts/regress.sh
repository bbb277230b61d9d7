#!/usr/bin/env bash
# OpenSSH's own regression tests (Debian's openssh-tests, /usr/lib/openssh/regress)
# against an ssh client: by default jumpgate, built from this tree and run through
# a link named ssh; --openssh runs OpenSSH's client instead, to show that a
# failure is the client's and not the machine's. sshd, ssh-keygen, ssh-agent,
# scp and sftp are always the installed OpenSSH's. Run as root.
#
#   scripts/regress.sh [--openssh | --ssh PATH] [--logs DIR] [--timeout SECS] [TEST...]
#
# Each test runs alone in a scratch copy of the suite, on its own port, and
# prints one line (PASS, FAIL or SKIP, the seconds it took, and for a skip
# the suite's reason); a summary follows. A failed test's logs (the suite's
# failed-*.log and the test's output) are kept under --logs. Every process a
# test started (found by a variable in its environment) is ended by PID, and
# the scratch directories are removed. Exit status: 0 when nothing failed.
set -uo pipefail
cd "$(dirname "$0")/.."

# The client-relevant tests: the client's flags, config, forwarding,
# multiplexing, keys, certificates, known_hosts and algorithms. Tests of sshd
# alone, of ssh-keygen or ssh-agent alone, and of other clients (PuTTY,
# Conch) are left out.
DEFAULT_TESTS="connect proxy-connect connect-uri exit-status exit-status-signal envpass transfer
banner rekey dhgex stderr-data stderr-after-eof try-ciphers yes-head agent key-options scp3
sftp-uri dynamic-forward forwarding multiplex sshcfgparse cfgmatch cfgmatchlisten percent
localcommand portnum keytype kextype cert-hostkey cert-userkey host-expand forward-control
integrity multipubkey limit-keytype hostkey-rotate cert-file cfginclude knownhosts
knownhosts-command agent-restrict channel-timeout connection-timeout
broken-pipe scp scp-uri sftp sftp-cmds sftp-batch sftp-badcmds sftp-glob"

SUITE=/usr/lib/openssh/regress
mode=jumpgate
ssh_bin=
logs=/tmp/jumpgate-regress-logs
limit=600
tests=()
while [ $# -gt 0 ]; do
	case $1 in
	--openssh) mode=openssh ;;
	--ssh) mode=given; ssh_bin=$2; shift ;;
	--logs) logs=$2; shift ;;
	--timeout) limit=$2; shift ;;
	-h | --help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	-*) echo "regress: unknown flag $1" >&2; exit 2 ;;
	*) tests+=("$1") ;;
	esac
	shift
done
[ ${#tests[@]} -gt 0 ] || read -r -a tests <<<"$(echo $DEFAULT_TESTS)"

if [ "$(id -u)" -ne 0 ]; then
	echo "regress: run as root (the suite starts sshd, which needs root for privilege separation)" >&2
	exit 2
fi
if [ ! -f "$SUITE/test-exec.sh" ]; then
	echo "regress: $SUITE is missing: install Debian's openssh-tests (scripts/deps.sh does)" >&2
	exit 2
fi
mkdir -p /run/sshd
# ssh(1) takes ~ and %d from the password file, and the suite compares with $HOME.
home=$(getent passwd root | cut -d: -f6)

work=$(mktemp -d /tmp/jumpgate-regress.XXXXXX)
token=jumpgate-regress-$$-$RANDOM
# The scratch path as a pattern in a file, so that grep's own command line
# does not match it.
pattern=$(mktemp /tmp/jumpgate-regress-pattern.XXXXXX)
echo "$work/" >"$pattern"
cleanup_all() {
	reap
	rm -rf "$work" "$pattern"
}

# reap ends every process that carries this run's token in its
# environment, or whose command line names the scratch directory (sshd
# started through the suite's wrappers), by PID: TERM, then KILL.
reap() {
	local pids p sig
	pids=$({
		grep -lzx "JUMPGATE_REGRESS=$token" /proc/[0-9]*/environ
		grep -lzFf "$pattern" /proc/[0-9]*/cmdline
	} 2>/dev/null | cut -d/ -f3 | sort -u | grep -vx "$$")
	[ -n "$pids" ] || return 0
	for sig in TERM KILL; do
		for p in $pids; do kill -"$sig" "$p" 2>/dev/null; done
		sleep 0.5
	done
}
trap cleanup_all EXIT
trap 'exit 130' INT TERM

mkdir -p "$work/bin"
case $mode in
jumpgate)
	echo "regress: building jumpgate"
	CGO_ENABLED=0 go build -o "$work/bin/jumpgate" ./cmd/jumpgate || exit 2
	ln -s jumpgate "$work/bin/ssh" ;;
openssh) ln -s "$(command -v ssh)" "$work/bin/ssh" ;;
given) ln -s "$(realpath "$ssh_bin")" "$work/bin/ssh" ;;
esac
ssh=$work/bin/ssh
echo "regress: ssh is $(readlink "$ssh") ($mode); logs of failures in $logs"
mkdir -p "$logs"

# The suite makes a user key of every type the client lists and keeps one
# that is newer than ssh-keygen: made once here, copied into every test.
keys=$work/keys
mkdir -p "$keys"
for kt in $("$ssh" -Q key-plain | grep -v '^sk-'); do
	ssh-keygen -q -N '' -t "$kt" -f "$keys/$kt" </dev/null >/dev/null 2>&1 || rm -f "$keys/$kt" "$keys/$kt.pub"
done

# free_port prints a port with the nine after it free too (some tests
# listen on PORT+1 and beyond).
free_port() {
	local p i busy
	busy=$(ss -Htan | awk '{print $4}' | sed 's/.*://' | sort -u)
	while :; do
		p=$((20000 + RANDOM % 20000))
		for i in $(seq 0 9); do
			grep -qx $((p + i)) <<<"$busy" && continue 2
		done
		echo "$p"
		return
	done
}

pass=0 fail=0 skip=0 n=0 failed=()
start_all=$(date +%s)
for t in "${tests[@]}"; do
	if [ ! -f "$SUITE/$t.sh" ]; then
		printf 'SKIP %-22s 0s  not in this openssh-tests\n' "$t"
		skip=$((skip + 1))
		continue
	fi
	# A neutral name: tests grep their own files by keyword (hostkey-rotate
	# drops every sshd_config line with "hostkey" in it, paths included).
	n=$((n + 1))
	obj=$work/t$n
	cp -a "$SUITE" "$obj"
	cp -p "$keys"/* "$obj"/ 2>/dev/null
	mkdir -p "$obj/run"
	chmod 700 "$obj/run"
	start=$(date +%s)
	# The suite's own environment, as its Makefile sets it (see run-tests),
	# in a clean environment of our own.
	(cd "$obj" && env -i \
		PATH="$work/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
		HOME="$home" USER=root LOGNAME=root LANG=C.UTF-8 TERM=dumb \
		XDG_RUNTIME_DIR="$obj/run" JUMPGATE_REGRESS="$token" \
		SUDO= TEST_SHELL=sh BUILDDIR="$obj" OBJ="$obj" \
		TEST_SSH_SSH="$ssh" TEST_SSH_SFTPSERVER=/usr/lib/openssh/sftp-server \
		TEST_SSH_PORT="$(free_port)" TEST_SSH_IPV6=yes TEST_SSH_ECC=yes \
		TEST_SSH_UNSAFE_PERMISSIONS=1 \
		timeout -k 10 "$limit" sh "$obj/test-exec.sh" "$obj" "$obj/$t.sh" \
		</dev/null >"$obj/output.log" 2>&1)
	rc=$?
	secs=$(($(date +%s) - start))
	reap
	why=$(grep -m1 '^SKIPPED: ' "$obj/output.log" | sed 's/^SKIPPED: //')
	if [ $rc -eq 0 ] && [ -n "$why" ]; then
		printf 'SKIP %-22s %3ss  %s\n' "$t" "$secs" "$why"
		skip=$((skip + 1))
	elif [ $rc -eq 0 ]; then
		printf 'PASS %-22s %3ss\n' "$t" "$secs"
		pass=$((pass + 1))
	else
		[ $rc -eq 124 ] && echo "timed out after ${limit}s" >>"$obj/output.log"
		rm -rf "${logs:?}/$t"
		mkdir -p "$logs/$t"
		cp "$obj"/output.log "$obj"/failed-*.log "$logs/$t/" 2>/dev/null
		# The first failure the suite recorded, else the output's last line.
		why=$(grep -h -m1 '^\(FAIL\|FATAL\): ' "$obj/failed-regress.log" 2>/dev/null | sed 's/^[A-Z]*: //')
		[ -n "$why" ] || why=$(grep . "$obj/output.log" | tail -1)
		printf 'FAIL %-22s %3ss  %s\n' "$t" "$secs" "$(cut -c1-90 <<<"$why")"
		fail=$((fail + 1))
		failed+=("$t")
	fi
	rm -rf "$obj"
done
total=$((pass + fail + skip))
echo "regress: $pass passed, $fail failed, $skip skipped of $total ($mode, $(($(date +%s) - start_all))s)"
[ $fail -eq 0 ] || echo "regress: failed: ${failed[*]} (logs in $logs)"
[ $fail -eq 0 ]
