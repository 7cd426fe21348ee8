#!/usr/bin/env bash
# Where a stage's time goes: runs one pkbench scenario's stage many times
# under `perf record -g` (fresh output and metadata directories each run,
# as a new Pod has them) and splits every sample of the stage's process,
# kernel work on its behalf included, by what it was doing (ytt, writing,
# reading the request, package initialisation, ...), from its call chain.
#
#   make build && hack/where-time-goes.sh 'target configure, steady state \(2' 300
#
# Needs perf and python3. The split is of CPU samples, so it adds up to the
# process's CPU time, not its wall time; docs/decisions.md has a reading.
set -euo pipefail
scenario=${1:?pkbench scenario regexp}
runs=${2:-300}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# pkbench -keep leaves the scenario's pod and prints how to run the stage
# in it (its exit status says whether the stage was within its budget).
{ go run ./cmd/pkbench -bin bin -n 1 -batch 0 -keep -run "$scenario" 2>&1 >/dev/null || true; } |
	sed -n 's/^kept: env -i //p' >"$work/cmd.all"
head -1 "$work/cmd.all" >"$work/cmd"
[ -s "$work/cmd" ] || { echo "no scenario matches $scenario" >&2; exit 1; }
read -r -a words <"$work/cmd"
# The kept workspaces are pkbench's temporary directories: remove them too.
kept=$(grep -o 'KRATIX_INPUT_FILE=[^ ]*' "$work/cmd.all" | sed 's|KRATIX_INPUT_FILE=||; s|/pod-.*||' | sort -u)
trap 'rm -rf "$work" $kept' EXIT
# The same binaries with their symbols (make build strips them), for perf.
mkdir "$work/bin"
CGO_ENABLED=0 go build -trimpath -o "$work/bin/" ./pipelines/... ./test/example/cmd/...
binary=$work/bin/$(basename "${words[-1]}")
unset 'words[-1]'
out=$(printf '%s\n' "${words[@]}" | sed -n 's/^KRATIX_OUTPUT_DIR=//p')
meta=$(printf '%s\n' "${words[@]}" | sed -n 's/^KRATIX_METADATA_DIR=//p')

cat >"$work/loop.sh" <<EOF
for i in \$(seq $runs); do
	rm -rf '$out' '$meta'; mkdir -p '$out' '$meta'
	env -i ${words[*]} '$binary' >/dev/null
done
EOF
perf record -q -F 20000 -g -o "$work/perf.data" -- bash "$work/loop.sh" 2>/dev/null
comm=$(basename "$binary" | cut -c1-15)
perf script -i "$work/perf.data" --comm "$comm" -F tid,ip,sym 2>/dev/null | python3 -c '
import sys, collections
# The first rule whose pattern is in a sample call chain names it.
rules = [
    ("ytt (templates and overlays)", ["render.runLocked"]),
    ("writing output and status", ["kratix.Write"]),
    ("reading the request", ["kratix.ReadObject"]),
    ("platform API", ["platformapi.(*Dir)", "platformapi.(*Client)", "platformapi.where", "platformapi.(*where)", "localapi.Connect"]),
    ("configuration", ["platformconfig.Load", "loadOverlays"]),
    ("rest of the stage", ["promisekit/promises/", "promisekit/pkg/"]),
    ("package initialisation", ["runtime.doInit"]),
    # Work the runtime does on its own stacks for every phase: growing the
    # heap, scheduling, sysmon, starting threads; and its own start.
    ("Go runtime on its system stacks", ["runtime.rt0_go", "_rt0_amd64", "runtime.mstart", "runtime.schedinit"]),
    ("exec", ["bprm_execve", "__x64_sys_execve"]),
    ("exit", ["do_exit", "do_group_exit", "exit_mmap"]),
]
counts, faults = collections.Counter(), collections.Counter()
def count(chain):
    if not chain:
        return
    text = "\n".join(chain)
    name = next((n for n, pats in rules if any(p in text for p in pats)), "other (goroutines of the runtime and libraries)")
    counts[name] += 1
    if "asm_exc_page_fault" in text:
        faults[name] += 1
chain = []
for line in sys.stdin:
    if not line.strip():
        count(chain); chain = []
    elif line.startswith("\t"):
        chain.append(line.strip())
count(chain)
total = sum(counts.values())
print("%-40s %6s %22s" % ("part", "share", "of it in page faults"))
for name, n in counts.most_common():
    print(f"{name:40s} {100*n/total:5.1f}% {100*faults[name]/n:21.0f}%")
print(f"{total} samples")
'
