#!/usr/bin/env bash
# Ray's overhead on one machine, end to end: the local engine against `xdd predict --engine ray`
# with the instance it starts and stops itself, and against an instance already running
# (`ray start --head` once, then `--address`), in interleaved rounds.  docs/performance.md.
#
# Run it as PID 1 of its own namespaces, so the head `ray start` opens on every interface is
# reachable on loopback only and `ray stop` ends only this instance:
#   unshare --user --map-root-user --net --pid --fork --mount-proc --kill-child \
#       bash bench/ray_overhead.sh BUNDLE INPUT.jsonl [ROUNDS [OPTION...]]
# with `xdd`, `ray` and `python` on PATH.  OPTIONs go to every run (`--backend onnx`); WORKERS
# (default "1 2") are the Ray variants' worker counts, of 1 CPU each.  Prints, per run: the UTC time, the variant, the wall
# time (process start to exit), the summary line's first-batch time and steady rate, and the
# first 12 hex digits of the output's SHA-256 (every variant must write the same file).
set -euo pipefail
bundle=$1 input=$2 rounds=${3:-2}
shift $(($# < 3 ? $# : 3))
options=("$@")

ip link set lo up
export RAY_AUTH_MODE=token RAY_AUTH_TOKEN
RAY_AUTH_TOKEN=$(python -c "import secrets; print(secrets.token_hex(32))")
temp=$(mktemp -d /tmp/xdd-ray.XXXXXX)  # short: Ray's Unix sockets live under it
trap 'ray stop --force >/dev/null 2>&1 || true; rm -rf "$temp"' EXIT
out="$temp/out.jsonl"

timed() {  # timed NAME OPTIONS...: one xdd predict run, one line; a failed run stops the script
    local name=$1 began ended summary log="$temp/run.log"
    shift
    rm -f "$out"
    began=$(date +%s.%N)
    xdd predict --model "$bundle" "$input" --output "$out" "$@" 2>"$log" >/dev/null ||
        { echo "$name: xdd predict failed; its last lines:" >&2; tail -n 5 "$log" >&2; exit 1; }
    ended=$(date +%s.%N)
    summary=$(tr '\r' '\n' <"$log" | grep -o 'first batch after .*' || true)
    printf '%s  %-22s %6.1f s  %-45s %s\n' "$(date -u +%T)" "$name" "$(echo "$ended - $began" | bc)" \
        "${summary:-(no summary line)}" "$(sha256sum "$out" | cut -c1-12)"
}

variants() {  # variants LOCAL-NAME RAY-NAME [--address ADDR]: one round
    local name=$1 ray=$2 workers
    shift 2
    timed "$name" "${options[@]}"
    for workers in ${WORKERS:-1 2}; do
        timed "ray, $ray ${workers}x1" --engine ray "$@" --workers "$workers" --cpus-per-worker 1 "${options[@]}"
    done
}

for _ in $(seq "$rounds"); do
    variants local "own instance"
done
ray start --head --port 6379 --num-cpus 2 --include-dashboard false --temp-dir "$temp" --disable-usage-stats \
    >/dev/null 2>&1
for _ in $(seq "$rounds"); do
    variants "local (head running)" "running head" --address 127.0.0.1:6379
done
