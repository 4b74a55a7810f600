"""One rank of a 2-process TRL-style ``mode="group"`` reward call (run by torchrun, gloo).

TRL 1.16 spreads a prompt's completions across ranks; this reproduces the layout of
issue 13: rank 0 holds ``[P8, P8, P0]`` and rank 1 ``[P0, P5, P5]``.  Writes this rank's
rewards and the prompts its judge saw to ``OUT/rank{r}.json``.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import torch.distributed as dist

from flexjudge import Judge
from flexjudge.apps import JudgeReward
from flexjudge.backends import GenerationRequest, MockBackend

LAYOUT = {
    0: (["P8", "P8", "P0"], ["a score=3", "b score=9", "c score=7"]),
    1: (["P0", "P5", "P5"], ["d score=2", "e score=4", "f score=6"]),
}


def scripted(request: GenerationRequest, index: int) -> str:
    user = request.prompt.split("<|im_end|>", 1)[1]
    values = re.findall(r"score=(\w+)", user)
    return "<think>\nok\n</think>\n" + "".join(f"<answer>{v}</answer>" for v in values)


def main() -> None:
    out = Path(sys.argv[1])
    dist.init_process_group("gloo")
    rank = dist.get_rank()
    backend = MockBackend(responder=scripted)
    reward = JudgeReward(Judge(backend), mode="group")
    prompts, completions = LAYOUT[rank]
    rewards = reward(prompts=prompts, completions=completions, completion_ids=[[1]] * 3)
    (out / f"rank{rank}.json").write_text(
        json.dumps({"rewards": rewards, "prompts": [c.prompt for c in backend.calls]})
    )
    dist.barrier()
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
