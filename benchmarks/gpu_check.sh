#!/usr/bin/env bash
# Short (<= 10 min) check of the transformers backend on a lent GPU, in bf16: greedy throughput,
# batching speed-up (batch 16 vs 1) and k=5 vote cost (one n=5 request vs 5 calls), plus swap
# cost, and static vs continuous batching (issue 19).  Results go to $OUT (default
# ./gpu_check_out) as JSON plus env.txt.  Without CUDA it
# runs a smaller CPU fallback (float32) so the script itself stays tested, and says so.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT="${OUT:-$PWD/gpu_check_out}"
mkdir -p "$OUT"
export HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false PYTHONPATH="$PWD/src:${PYTHONPATH:-}"
if python -c "import torch,sys; sys.exit(0 if torch.cuda.is_available() else 1)"; then
  DEV=(--device cuda --dtype bfloat16)
  SIZE=(--hidden 1024 --layers 8 --items 32 --max-tokens 128 --batch 16 --repeats 2)
  MODE=gpu
else
  echo "NOTE: no CUDA device: CPU fallback (float32, small sizes); numbers are not GPU numbers"
  DEV=(--device cpu --dtype float32)
  SIZE=(--hidden 128 --layers 2 --items 4 --max-tokens 8 --batch 4 --repeats 1)
  MODE=cpu-fallback
fi
{
  echo "mode=$MODE"; date -u
  python -c "import torch,transformers; print('torch', torch.__version__, 'transformers', transformers.__version__); print(torch.cuda.get_device_name(0) if torch.cuda.is_available() else 'cpu')"
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv 2>/dev/null || true
} > "$OUT/env.txt"
cat "$OUT/env.txt"
timeout 200 python benchmarks/votes_cost.py "${DEV[@]}" "${SIZE[@]}" --batching \
  --json "$OUT/votes_batching.json" 2>"$OUT/votes_stderr.txt" | tail -n 2
timeout 80 python benchmarks/swap_cost.py "${DEV[@]}" "${SIZE[@]}" \
  --json "$OUT/swap.json" 2>"$OUT/swap_stderr.txt" | tail -n 2
# Issue 19: static vs continuous batching in bf16 on a ~1.2B random checkpoint built from
# Qwen2.5-VL-3B's config (12 of 36 layers, the full 151,936-token vocabulary), realistic
# reasoning lengths at 1/4 scale (median ~305 tokens), 128 items so that freed slots have a
# queue to take from; the library arm compares the engine's own attention with the
# per-sequence one on the first 32 items.  Budget: <= 5.5 min.
if [ "$MODE" = gpu ]; then
  TP=(--from-config "${FLEXJUDGE_SHARED:-$PWD/../shared}/data/hf-configs/Qwen2.5-VL-3B-Instruct"
      --layers 12 --items 128 --length-scale 0.25 --batch 16
      --arms static,continuous,library)  # votes: votes_cost.py above; each arm reloads the model
else
  TP=(--hidden 64 --layers 2 --items 20 --length-scale 0.02 --votes 2 --vote-items 2
      --library-items 4)
fi
timeout 330 python benchmarks/throughput.py "${DEV[@]}" "${TP[@]}" \
  --json "$OUT/throughput.json" 2>"$OUT/throughput_stderr.txt" >/dev/null || true
tail -n 12 "$OUT/throughput_stderr.txt"
echo "results in $OUT ($MODE)"
