"""rnnkit's C++ kernels (``csrc/``: the classic cells' loop, the min-RNN scan), compiled on first use and cached.

``torch.utils.cpp_extension.load`` builds it from the source shipped in the package the first time a layer
needs it (30-80 seconds, once per machine and PyTorch version; the build lands in PyTorch's extension
cache, ``TORCH_EXTENSIONS_DIR`` or ``~/.cache/torch_extensions``), and says so on stderr in one line when it
starts, with the folder. ``python -m rnnkit.nn.build_kernels`` builds it ahead of time (``make extension``, or
after ``pip install``), so that no training run waits for it. The build needs a C++ compiler and ninja
(``pip install ninja``); where either is missing, or the build fails, ``unavailable()`` says why and the layers
run PyTorch's kernels instead, recording the reason in ``fast_path_reason``. ``RNNKIT_EXTENSION=0`` turns the
extension off.

Compiler flags follow the instruction set PyTorch itself detected on this CPU, and that name is part of the
extension's, as is a hash of the sources and headers (PyTorch's own check does not see headers), so a cache
shared by different machines, or by different versions of rnnkit, never hands one a build it cannot run.
"""

from __future__ import annotations

import hashlib
import os
import sys
import time
from functools import lru_cache
from pathlib import Path
from typing import Optional

import torch

CSRC = Path(__file__).parent / "csrc"
SOURCES = [CSRC / "recurrent.cpp", CSRC / "min_rnn.cpp"]
HEADERS = [CSRC / "simd.h", CSRC / "step_gemm.h", CSRC / "int8_gemm.h"]
STALE_LOCK_S = 600.0
FLAGS = {  # PyTorch's CPU capability -> the instruction sets the build may use
    "AVX512": ["-mavx512f", "-mavx512bw", "-mavx512vl", "-mavx512dq", "-mavx2", "-mfma"],
    "AVX2": ["-mavx2", "-mfma"],
}


def _builds() -> list[tuple[str, list[str]]]:
    """(tag, compiler flags) to try in turn: with the bfloat16 and int8 kernels where the CPU has AVX-512 BF16 and
    VNNI (an old compiler may not know the flags: then without them), else the CPU's vector instructions only."""
    capability = torch.backends.cpu.get_cpu_capability()
    flags = list(FLAGS.get(capability, []))
    plain = (capability.lower() if flags else "generic", flags)
    found = torch.cpu.get_capabilities() if capability == "AVX512" else {}
    extras = [(name, flag) for name, flag in (("vnni", "-mavx512vnni"), ("bf16", "-mavx512bf16"))
              if found.get(f"avx512_{name}")]
    if not extras:
        return [plain]
    return [("avx512" + "".join(name for name, _ in extras), [*flags, *(flag for _, flag in extras)]), plain]


@lru_cache(maxsize=None)
def unavailable() -> Optional[str]:
    """Build or load the extension; None when its ops (``torch.ops.rnnkit``) are ready, else the reason."""
    if os.environ.get("RNNKIT_EXTENSION", "1") == "0":
        return "RNNKIT_EXTENSION=0 turns rnnkit's C++ extension off"
    missing = [path.name for path in SOURCES + HEADERS if not path.exists()]
    if missing:
        return f"the extension's sources are not installed: {', '.join(missing)}"
    from torch.utils import cpp_extension

    if not cpp_extension.is_ninja_available():
        return "rnnkit's C++ extension needs ninja to build (pip install ninja)"
    # the sources' contents and their folder: PyTorch rebuilds when the source paths change, so two installs
    # sharing one name would rebuild in turn
    digest = hashlib.sha256(b"".join(path.read_bytes() for path in SOURCES + HEADERS) + bytes(CSRC)).hexdigest()[:10]
    failure = ""
    for tag, flags in _builds():
        name = f"rnnkit_kernels_{tag}_{digest}"
        folder = Path(cpp_extension._get_build_directory(name, verbose=False))
        _remove_stale_lock(folder / "lock")
        if not (folder / f"{name}.so").exists():
            print(f"rnnkit: building its C++ kernels once for this machine and PyTorch (30-80 s), cached in {folder}",
                  file=sys.stderr, flush=True)
        try:
            cpp_extension.load(
                name=name, sources=[str(source) for source in SOURCES],
                is_python_module=False, verbose=False,
                extra_cflags=["-O3", "-std=c++20", "-fopenmp", "-fno-math-errno", "-fno-trapping-math", *flags],
                extra_ldflags=["-fopenmp"])
            return None
        except Exception as error:  # no compiler, a failed build, a broken cache: fall back, and say why
            failure = next((line for line in str(error).splitlines() if line.strip()), type(error).__name__)
    return f"rnnkit's C++ extension did not build ({failure[:200]})"


def _remove_stale_lock(lock: Path) -> None:
    """PyTorch's build lock outlives a build that was killed, and every later process would wait on it forever;
    a build takes a minute or two, so a lock older than ``STALE_LOCK_S`` has no builder left."""
    try:
        age = time.time() - lock.stat().st_mtime
    except FileNotFoundError:
        return
    if age > STALE_LOCK_S:
        print(f"rnnkit: removing a stale build lock ({age / 60:.0f} min old, its build was stopped): {lock}",
              file=sys.stderr, flush=True)
        lock.unlink(missing_ok=True)


def ops():
    """``torch.ops.rnnkit``: ``recurrent_*`` and ``min_rnn_fused_*`` (forward, backward); call ``unavailable()`` first."""
    return torch.ops.rnnkit


@lru_cache(maxsize=None)
def compiled_kernels() -> frozenset[str]:
    """The product kernels the built extension has ("float32", "bfloat16", "int8"); empty when it is unavailable."""
    return frozenset() if unavailable() else frozenset(ops().compiled_kernels())

