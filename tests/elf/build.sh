#!/bin/sh
# build.sh — builds the ELF images of the exec tests into tests/golden/elf/.
#
# One program (prog.c, no libc) linked seven ways:
#   x86_64-exec       -static        ET_EXEC, segments r--, r-x, r--, rw-+bss
#   x86_64-pie        -static-pie    ET_DYN without PT_INTERP (static PIE)
#   x86_64-pie-2m     -static-pie, max-page-size 2 MiB (p_align 0x200000)
#   x86_64-exec-2m    -static, max-page-size 2 MiB
#   x86_64-execstack  -static, PT_GNU_STACK RWX (executable stack)
#   i386-exec         -m32 -static
#   i386-pie          -m32 -static-pie
# The 2 MiB variants use -z noseparate-code -z norelro so the file is not
# padded to 2 MiB boundaries (a few KiB instead of 2 MiB).  -m32 needs no
# gcc-multilib here: nothing is linked but the program itself.
#
# The images are checked in (the unit tests read them, they never run a
# compiler); rerun this script, then record.sh, when prog.c changes.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
out=${OUT:-"$here/../golden/elf"}
mkdir -p "$out"
CC=${CC:-gcc}
common="-O2 -ffreestanding -fno-builtin -fno-stack-protector -fcf-protection=none
        -fno-asynchronous-unwind-tables -nostdlib -s -Wall -Werror"
big="-Wl,-z,max-page-size=0x200000 -Wl,-z,noseparate-code -Wl,-z,norelro"

build() {
	name=$1; shift
	# shellcheck disable=SC2086
	$CC $common "$@" -o "$out/$name.elf" "$here/prog.c"
	echo "built $name.elf"
}

build x86_64-exec -static -no-pie
build x86_64-pie -static-pie -fpie
build x86_64-pie-2m -static-pie -fpie $big
build x86_64-exec-2m -static -no-pie $big
build x86_64-execstack -static -no-pie -Wl,-z,execstack
build i386-exec -m32 -static -no-pie
build i386-pie -m32 -static-pie -fpie
