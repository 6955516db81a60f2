#!/usr/bin/env bash
# Run the benchmark files one at a time and regenerate bench/RESULTS.md.
#
#     bench/run_all.sh                 # every file below, in this order
#     bench/run_all.sh walks wis       # only these (the others' JSON stay as committed)
#
# Each file NAME writes bench/results/NAME.json (pytest-benchmark) and bench/results/NAME.meta.json:
# the command, OMP_NUM_THREADS, the size variables, the load average before and after, the wall time,
# and BENCH_NOTE if set (a line for the section, e.g. why a size was left out).
# Sizes and threads are the ones of each file's docstring; override a size variable in the
# environment (e.g. RANKCORE_BUILD_SIZES=1M bench/run_all.sh build) and the meta file records it.
set -euo pipefail
cd "$(dirname "$0")/.."
export PYTHONPATH=python:bench
if ! python -c 'import torch, pytest_benchmark, rankcore' 2>/dev/null; then
  echo "run_all.sh: python cannot import torch, pytest_benchmark and rankcore (activate .venv first)" >&2
  exit 2
fi

# name  OMP_NUM_THREADS  size variables (NAME=default, kept if already set in the environment)
SPECS=(
  "walks 1 RANKCORE_BENCH_SIZES=1M,10M"
  "build 1 RANKCORE_BUILD_SIZES=1M,10M RANKCORE_BUILD_WIS=10M"
  "wis 1 RANKCORE_WIS_SIZES=cora,1M,10M RANKCORE_WIS_L3_10M=1"
  "networkit 2 RANKCORE_NK_SIZES=1M,10M"
  "distributed 1 RANKCORE_BENCH_DIST_SIZE=1M"
  "io 2 RANKCORE_IO_SIZES=1M,10M"
  "guards 1 RANKCORE_GUARD_SIZES=1M,10M"
  "structure 1 RANKCORE_BENCH_SIZES=100k,1M,10M"
  "cp 1"
  "ht 1"
  "cnn 1"
  "wis_hubs 1 RANKCORE_BENCH_HUBS_BIG=1"
  "spectral 1 RANKCORE_SPECTRAL_GRAPHS=grid200,path10k,cycle10k,pl1M"
  "distributed_training 1 RANKCORE_BENCH_DDP=cp,ht"
)

load() { cut -d' ' -f1-3 /proc/loadavg; }

run() {
  local name=$1 threads=$2; shift 2
  local env=() kv var
  for kv in "$@"; do
    var=${kv%%=*}
    env+=("$var=${!var:-${kv#*=}}")
  done
  local json=bench/results/$name.json meta=bench/results/$name.meta.json
  local cmd="PYTHONPATH=python:bench OMP_NUM_THREADS=$threads ${env[*]} python -m pytest bench/bench_$name.py --benchmark-json=$json -q"
  cmd=${cmd//  / }
  local before start end rc=0
  before=$(load); start=$(date -u +%s)
  echo "[$(date -u +%H:%M:%S)] $cmd  (load $before)"
  env OMP_NUM_THREADS="$threads" "${env[@]}" python -m pytest "bench/bench_$name.py" \
    --benchmark-json="$json.tmp" -q -p no:cacheprovider || rc=$?
  end=$(date -u +%s)
  if ! python -c 'import json, sys; json.load(open(sys.argv[1]))["benchmarks"][0]' "$json.tmp" 2>/dev/null; then
    rm -f "$json.tmp"  # nothing measured: keep the previous JSON and meta
    echo "[$(date -u +%H:%M:%S)] $name: exit $rc, no benchmark recorded; $json left as it was"
    return
  fi
  mv "$json.tmp" "$json"
  python - "$meta" "$cmd" "$threads" "$before" "$(load)" "$start" "$end" "$rc" "${BENCH_NOTE:-}" <<'PY'
import json, sys, time
meta, cmd, threads, before, after, start, end, rc, note = sys.argv[1:]
fmt = lambda t: time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(int(t)))
record = {"command": cmd, "omp_num_threads": threads, "load_before": before, "load_after": after,
          "start": fmt(start), "end": fmt(end), "wall_s": int(end) - int(start), "exit_code": int(rc)}
json.dump(record | ({"note": note} if note else {}), open(meta, "w"), indent=1)
PY
  echo "[$(date -u +%H:%M:%S)] $name: exit $rc, $((end - start)) s, load $(load)"
}

main() {  # one function, parsed whole before it runs: editing this file during a run is safe
  local spec words
  for spec in "${SPECS[@]}"; do
    read -r -a words <<<"$spec"
    if [ $# -eq 0 ] || [[ " $* " == *" ${words[0]} "* ]]; then
      run "${words[@]}"
    fi
  done
  python bench/report.py bench/results --out bench/RESULTS.md
}
main "$@"
