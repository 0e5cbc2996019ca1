#!/bin/bash
# The GPU numbers of docs/performance.md (section 6) in one short run, for a machine with CUDA.
#
#   git worktree add --detach .bench_base ae58450      # the engine to compare with (any ttvos tree)
#   echo /.bench_base/ >> .git/info/exclude
#   OUT=/tmp/gpu-check bash benchmarks/gpu_check.sh    # then read $OUT/bench.log
#
# BASELINE (default .bench_base) is the other ttvos tree; DATA (optional) a tree written by
# benchmarks/fast_schedule.py for the mixed-precision J&F. Each step has its own time limit and
# JSON file, so a step that runs out of time loses only its own numbers. Its steps took 5 min 11 s on
# an H200 (the schedule step then without a warm-up).
set -u
export PYTHONPATH=$PWD PYTHONUNBUFFERED=1
OUT=${OUT:?set OUT to a folder for the results}
BASELINE=${BASELINE:-.bench_base}
PYTHON=${PYTHON:-python3}
mkdir -p "$OUT"
video="--device cuda --model full --size 480x854 --frames 20 --objects 2"

step() {  # NAME SECONDS COMMAND...: run it, log its output and exit status
    local name=$1 seconds=$2
    shift 2
    echo "== $name $(date +%T)" >>"$OUT/bench.log"
    timeout "$seconds" "$@" >>"$OUT/bench.log" 2>&1
    echo "== $name rc=$? $(date +%T)" >>"$OUT/bench.log"
}

{ nvidia-smi -L; "$PYTHON" -c "import torch; print('torch', torch.__version__)"; } >>"$OUT/bench.log" 2>&1
step engine 150 "$PYTHON" -m ttvos bench $video --measure inference,iteration --losses mcc,ae,ent \
    --variants faithful --baseline "$BASELINE" --repeats 5 --warmup 1 --profile --json "$OUT/engine.json"
step precision 120 "$PYTHON" -m ttvos bench $video --measure inference,iteration --losses mcc,ent \
    --variants faithful,bf16,fp16 --repeats 5 --warmup 1 --json "$OUT/precision.json"
step schedule 180 "$PYTHON" -m ttvos bench $video --measure video --losses mcc,ent,ae \
    --variants faithful,fast --repeats 3 --warmup 1 --json "$OUT/schedule.json"
step memory 60 "$PYTHON" -m ttvos bench --device cuda --model full --size 64x96 --objects 2 --measure memory \
    --lengths 50,200,800 --variants faithful,cap --cap 8 --json "$OUT/memory.json"
if [ -n "${DATA:-}" ]; then
    for dtype in bfloat16 float16; do
        step "precision J&F $dtype" 60 "$PYTHON" benchmarks/amp_accuracy.py --data "$DATA" --dtype $dtype --device cuda
    done
fi
