"""``python -m rnnkit.nn.build_kernels``: build rnnkit's C++ kernels now (or find them built), not on first use.

The Makefile runs it when it installs rnnkit, so that no training run waits for the build (see
``rnnkit.nn.extension``). Exit status 1, with the reason, where they cannot be built; rnnkit then runs
PyTorch's kernels instead.
"""

from __future__ import annotations

import torch

from rnnkit.nn.extension import unavailable


def main() -> int:
    reason = unavailable()
    print(reason or f"rnnkit's C++ kernels are ready ({torch.backends.cpu.get_cpu_capability()})")
    return 1 if reason else 0


if __name__ == "__main__":
    raise SystemExit(main())
