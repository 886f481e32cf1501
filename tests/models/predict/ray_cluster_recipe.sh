#!/usr/bin/env bash
# The multi-node recipe of docs/inference.md ("Several machines") on one machine: token
# authentication, a head started with `ray start --head --num-cpus 0`, two worker nodes of
# 1 CPU each joined with `ray start --address`, and `xdd predict --engine ray --address`.
#
# Run it as PID 1 of its own namespaces (tests/models/predict/test_ray_engine.py does):
#   unshare --user --map-root-user --net --pid --fork --mount-proc --kill-child bash THIS ...
# The network namespace holds only the loopback interface, so the servers that `ray start`
# opens on every interface (*:PORT) cannot be reached from outside; the PID namespace makes
# `ray stop` see only this cluster, and the kernel kills whatever is left when this script ends.
#
# Usage: ray_cluster_recipe.sh BUNDLE INPUT OUT_DIR, with `xdd`, `ray` and `python` on PATH.
#   Writes to OUT_DIR: predictions.jsonl;
#   placement.json (each node's CPUs, and the node each worker ran on); {wrong,no}-token.rc
#   and .stderr (the same predict from a shell with another token, and with none).
set -euo pipefail
bundle=$1 input=$2 out=$3

ip link set lo up
export RAY_AUTH_MODE=token RAY_AUTH_TOKEN
RAY_AUTH_TOKEN=$(python -c "import secrets; print(secrets.token_hex(32))")
temp=$(mktemp -d /tmp/xdd-ray.XXXXXX)  # short: Ray's Unix sockets live under it
trap 'ray stop --force >/dev/null 2>&1 || true; rm -rf "$temp"' EXIT

port=6379
ray start --head --port "$port" --num-cpus 0 --include-dashboard false --temp-dir "$temp" --disable-usage-stats
for _ in 1 2; do
    ray start --address "127.0.0.1:$port" --num-cpus 1 --disable-usage-stats
done

predict=(xdd predict --engine ray --address "127.0.0.1:$port" --workers 2 --cpus-per-worker 1 --model "$bundle" "$input")
refused() {  # refused NAME COMMAND...: its exit code and stderr, as NAME.rc and NAME.stderr
    local name=$1 rc=0
    shift
    "$@" --output "$out/$name.jsonl" --quiet 2>"$out/$name.stderr" || rc=$?
    echo "$rc" >"$out/$name.rc"
}
refused wrong-token env RAY_AUTH_TOKEN="$(python -c "import secrets; print(secrets.token_hex(32))")" "${predict[@]}"
refused no-token env -u RAY_AUTH_TOKEN -u RAY_AUTH_TOKEN_PATH HOME="$temp" "${predict[@]}"  # no ~/.ray/auth_token
"${predict[@]}" --output "$out/predictions.jsonl" --quiet

python - "127.0.0.1:$port" "$out/placement.json" <<'EOF'
"""Where the pipeline's workers ran: their node IDs, and each node's CPUs (the head has none)."""
import json
import sys

import ray
from ray._private import state

ray.init(address=sys.argv[1], log_to_driver=False, logging_level="ERROR")
workers = [a for a in state.actors().values() if a["ActorClassName"].startswith("MapWorker(")]
nodes = {n["NodeID"]: {"cpus": n["Resources"].get("CPU", 0), "head": "node:__internal_head__" in n["Resources"]}
         for n in ray.nodes() if n["Alive"]}
placement = {"nodes": nodes, "workers": [a["Address"]["NodeID"] for a in workers]}
with open(sys.argv[2], "w", encoding="utf-8") as handle:
    json.dump(placement, handle, indent=1)
EOF
