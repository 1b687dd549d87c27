#!/bin/sh
# record.sh — runs each image of tests/golden/elf/ on the host and saves
# what it prints (its /proc/self/stat, status and maps, before and after
# growing brk) as tests/golden/elf/NAME.maps.
#
# Conditions match the simulator's defaults: no randomization (setarch -R,
# like randomize_va_space = 0), an 8 MiB stack rlimit, an empty
# environment, and the program run as /tmp/mmsim-exec-1 — the path under
# which the simulator names the image of pid 1 — so argv[0] and the exec
# file name have the same lengths as in the simulation (they decide the
# initial stack pointer) and the path column of the maps lines is equal.
# i386 images run in the x86_64 kernel's compat mode: only their PT_LOAD
# and bss lines are comparable with a native i386 kernel (see test_exec.c).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
dir="$here/../golden/elf"
run=/tmp/mmsim-exec-1
ulimit -s 8192
for elf in "$dir"/*.elf; do
	name=$(basename "$elf" .elf)
	cp "$elf" "$run"
	chmod +x "$run"
	{
		echo "# $name.elf run on the host by tests/elf/record.sh"
		echo "# uname -r: $(uname -r)"
		echo "# date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
		echo "# sha256: $(sha256sum "$elf" | cut -d' ' -f1)"
		echo "# cmd: env -i setarch $(uname -m) -R $run   (ulimit -s 8192)"
		env -i setarch "$(uname -m)" -R "$run"
	} > "$dir/$name.maps.tmp"
	mv "$dir/$name.maps.tmp" "$dir/$name.maps"
	echo "recorded $name.maps"
done
rm -f "$run"
