"""Lost rewards in an OpenRLHF-style rollout against ``flexjudge serve`` with default settings.

OpenRLHF 0.11 sends one ``/get_reward`` request per finished sample, all at once, retries each
5 times 1 s apart, ignores ``Retry-After`` and then keeps the sample with ``reward=None``.  This
replays that pattern (``flexjudge.testing._rl_clients``) against a mock judge taking
``--per-item`` seconds per item and prints how many of ``--samples`` got no reward (goal: 0 of
1,024 at 50 ms/item).  The test suite runs the same pattern with 200 samples.

Usage: ``python benchmarks/openrlhf_rollout.py [--samples 1024] [--per-item 0.05]``.
"""

from __future__ import annotations

import argparse
import json
import os
import time

from flexjudge import Judge
from flexjudge.serve import create_app
from flexjudge.testing import serve_in_thread
from flexjudge.testing._rl_clients import SlowJudgeBackend, rollout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--samples", type=int, default=1024)
    parser.add_argument("--per-item", type=float, default=0.05)
    args = parser.parse_args()
    backend = SlowJudgeBackend(per_item=args.per_item)
    start = time.perf_counter()
    with serve_in_thread(create_app(Judge(backend))) as base:  # default ServerConfig
        rewards = rollout(base, args.samples)
    print(
        json.dumps(
            {
                "samples": args.samples,
                "per_item_seconds": args.per_item,
                "lost_rewards": sum(r is None for r in rewards),
                "largest_backend_batch": max(backend.batch_sizes, default=0),
                "seconds": round(time.perf_counter() - start, 2),
                "load_average": os.getloadavg(),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
