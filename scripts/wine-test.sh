#!/usr/bin/env bash
# wine-test.sh: build the module's test binaries for windows/amd64 and run
# them under Wine, one package at a time, with a line per package (docs:
# docs/testing.md, "Windows under Wine").
#
# Usage: scripts/wine-test.sh [--install] [PKG...]
#
# PKG are package directories as for go test (./lock, ./fsstore); default:
# every package with tests. --install installs Wine with apt-get first
# (Debian's wine and wine64, no recommends).
#
# Environment:
#   WINEPREFIX   Wine prefix (default ${TMPDIR:-/tmp}/sessfs-wine), made
#                with wineboot when missing
#   OUT          directory for the binaries and logs (default
#                ${TMPDIR:-/tmp}/sessfs-wine-out): PKG.exe, PKG.log
#   TIMEOUT      seconds per package binary (default 600)
#   TESTFLAGS    flags for every test binary (default -test.short -test.v)
#
# Two gaps of older Wine (Debian 12 ships 8.0) are bridged here, for the
# tests only, so that they test this module rather than Wine:
#   - no bcryptprimitives.dll (Wine 8.13 added it), without which no Go
#     program starts: scripts/wine/bcryptprimitives.go writes a DLL that
#     forwards ProcessPrng to advapi32's RtlGenRandom;
#   - NtSetInformationFile answers STATUS_NOT_IMPLEMENTED for
#     FileDispositionInformationEx, where Go's os.RemoveAll falls back to
#     the classic delete only for the answers Windows gives
#     (STATUS_INVALID_INFO_CLASS ...), so every t.TempDir cleanup failed
#     with "Invalid function": the binaries are built with an -overlay of
#     the Go tree's internal/syscall/windows/at_windows.go that falls back
#     on that answer too.
# Wine gaps the tests meet otherwise are theirs to skip, naming the gap.
#
# Exit status: 0 when every package passed (or has no tests), 1 otherwise.
set -uo pipefail

install=0
if [[ ${1:-} == --install ]]; then
	install=1
	shift
fi
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root" || exit 1
tmp=${TMPDIR:-/tmp}
export WINEPREFIX=${WINEPREFIX:-$tmp/sessfs-wine}
export WINEDEBUG=${WINEDEBUG:--all}
out=${OUT:-$tmp/sessfs-wine-out}
timeout=${TIMEOUT:-600}
testflags=${TESTFLAGS:--test.short -test.v}
mkdir -p "$out"

if ((install)); then
	apt-get install -y --no-install-recommends wine wine64 >"$out/apt.log" 2>&1 ||
		{ echo "wine-test: apt-get install wine wine64 failed (see $out/apt.log)" >&2; exit 1; }
fi
wine=$(command -v wine64 || command -v wine) ||
	{ echo "wine-test: no wine64 or wine on PATH (apt-get install wine wine64, or --install)" >&2; exit 1; }

if [[ ! -d $WINEPREFIX/drive_c/windows/system32 ]]; then
	wineboot -i >"$out/wineboot.log" 2>&1 || true
	wineserver -w 2>/dev/null || true
fi
sys32=$WINEPREFIX/drive_c/windows/system32
[[ -d $sys32 ]] || { echo "wine-test: wineboot made no prefix at $WINEPREFIX (see $out/wineboot.log)" >&2; exit 1; }
if [[ ! -e $sys32/bcryptprimitives.dll ]]; then
	go run scripts/wine/bcryptprimitives.go -o "$sys32/bcryptprimitives.dll" || exit 1
fi

# The overlay (see above), when this Go tree has the code it patches.
overlay=()
at=$(go env GOROOT)/src/internal/syscall/windows/at_windows.go
anchor='case STATUS_INVALID_INFO_CLASS, // the operating system doesn'"'"'t support FileDispositionInformationEx'
if grep -qF "$anchor" "$at" 2>/dev/null; then
	awk -v a="$anchor" '{ print } index($0, a) { print "\t\tNTStatus(0xC0000002), // STATUS_NOT_IMPLEMENTED: Wine'"'"'s answer" }' "$at" >"$out/at_windows.go"
	printf '{"Replace":{"%s":"%s"}}\n' "$at" "$out/at_windows.go" >"$out/overlay.json"
	overlay=(-overlay "$out/overlay.json")
else
	echo "wine-test: $at has changed: built without the RemoveAll overlay (t.TempDir cleanups may fail with \"Invalid function\")" >&2
fi

if (($# == 0)); then
	mapfile -t pkgs < <(GOOS=windows go list -f '{{if or .TestGoFiles .XTestGoFiles}}{{.Dir}}{{end}}' ./... | sed "s|^$root|.|")
else
	pkgs=("$@")
fi
((${#pkgs[@]} > 0)) || { echo "wine-test: no packages to test" >&2; exit 1; }

export NFSTEST_HARNESS=${NFSTEST_HARNESS:-/nonexistent}
failed=0 passed=0
start=$SECONDS
for pkg in "${pkgs[@]}"; do
	name=$(echo "${pkg#./}" | tr / _)
	[[ $name == . || -z $name ]] && name=root
	exe=$out/$name.exe log=$out/$name.log
	t0=$SECONDS
	if ! GOOS=windows GOARCH=amd64 go test -c "${overlay[@]}" -o "$exe" "$pkg" >"$log" 2>&1; then
		printf '%-44s BUILD FAILED (%s)\n' "$pkg" "$log"
		failed=$((failed + 1))
		continue
	fi
	if [[ ! -e $exe ]]; then
		printf '%-44s no test files\n' "$pkg"
		continue
	fi
	# go test runs a package's tests in its directory.
	# -test.timeout a little inside ours: a hung test shows its goroutines.
	(cd "$pkg" && timeout -k 10 "$timeout" "$wine" "$exe" -test.timeout=$((timeout > 30 ? timeout - 15 : timeout))s $testflags) >>"$log" 2>&1
	rc=$?
	wineserver -k 2>/dev/null # no Wine process outlives its package
	dt=$((SECONDS - t0))
	skips=$(grep -c -- '--- SKIP' "$log")
	whole=$(grep -m1 -E '^[^ ]+ tests skipped: ' "$log") # a TestMain's (internal/storetest)
	if ((rc == 0)) && [[ -n $whole ]]; then
		printf '%-44s ok      %4ds  all skipped: %s\n' "$pkg" "$dt" "${whole#* tests skipped: }"
		passed=$((passed + 1))
	elif ((rc == 0)); then
		printf '%-44s ok      %4ds  %d skipped\n' "$pkg" "$dt" "$skips"
		passed=$((passed + 1))
	else
		why=FAIL
		((rc == 124 || rc == 137)) && why="TIMEOUT after ${timeout}s"
		printf '%-44s %s %4ds  (%s)\n' "$pkg" "$why" "$dt" "$log"
		grep -E -- '^\s*--- FAIL' "$log" | head -20 | sed 's/^/    /'
		failed=$((failed + 1))
	fi
done
echo "wine-test: $((SECONDS - start))s"
echo "wine-test: $passed passed, $failed failed"
((failed == 0))
