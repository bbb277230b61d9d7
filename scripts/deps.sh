#!/usr/bin/env bash
# Installs the Debian packages the test suite needs, when they are missing.
# Idempotent; does nothing (and needs no network) when all are present.
set -euo pipefail

pkgs=(openssh-server openssh-client iproute2 iperf3 nftables util-linux procps graphviz chromium iputils-ping
	# X11 forwarding tests (internal/cli/ssh_x11_lab_test.go, internal/server/x11_test.go): ~10 s
	xauth
	# the libvirt guest test (internal/cli/console_lab_test.go): a private
	# libvirtd, qemu, a libvirt network's DHCP, and a kernel plus busybox
	# for the guest's initramfs
	libvirt-daemon-system libvirt-clients qemu-system-x86 dnsmasq-base busybox-static linux-image-amd64
	# jumpgate console's viewer, on a virtual X server, for its screenshot
	virt-viewer xvfb
	# OpenSSH's regression suite, run against jumpgate by scripts/regress.sh
	openssh-tests
	# the sftp subsystem jumpgate serve runs, as sshd (internal/server/openssh_auth_test.go)
	openssh-sftp-server
	# the programs that call ssh, run with jumpgate as their ssh
	# (internal/cli/ssh_programs_lab_test.go); ansible and its Python
	# libraries take about 40 s to install
	rsync git ansible)
missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	if [ "$(id -u)" -ne 0 ]; then
		echo "deps: missing packages: ${missing[*]}; run as root or install them" >&2
		exit 1
	fi
	echo "deps: installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# Debian's package does not start sshd here, but sshd wants its privilege
# separation directory to exist.
mkdir -p /run/sshd 2>/dev/null || true
