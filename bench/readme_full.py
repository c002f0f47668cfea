"""Every README example at full size, timed: the wall time each block takes as written, without smoke mode.

    taskset -c 1 env OMP_NUM_THREADS=1 python bench/readme_full.py --out /tmp/readme-full
    python bench/readme_full.py --out /tmp/readme-caption --sections "Image captioning"

Runs the README's blocks in order in a fresh folder (``--out``, refused if it exists), exactly as
tests/test_readme.py does in smoke mode, with the same parser and the same session rules, but at full size:
``RNNKIT_SMOKE`` unset, no time limit per block. The one installation line it runs is ``npm pack`` (the
captioning example's Twemoji package, fetched from the npm registry); the environment's installs are assumed
done. ``--sections`` keeps (``--skip`` leaves out) the sections whose title contains any of the given words (a section must then not
need files an earlier, skipped section writes). Prints one line per block: wall seconds, CPU seconds, the
block's first command; ``--json`` writes them too.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def load_readme_test():
    spec = importlib.util.spec_from_file_location("test_readme", ROOT / "tests" / "test_readme.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclass looks itself up there
    spec.loader.exec_module(module)
    return module


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True, help="fresh folder the examples run in")
    parser.add_argument("--sections", nargs="*", default=None, help="words of the section titles to keep")
    parser.add_argument("--skip", nargs="*", default=(), help="words of the section titles to leave out")
    parser.add_argument("--json", type=Path, default=None, help="write the timings here too")
    args = parser.parse_args()
    readme = load_readme_test()
    args.out.mkdir(parents=True, exist_ok=False)
    (args.out / ".venv").symlink_to(sys.prefix, target_is_directory=True)
    env = {key: value for key, value in os.environ.items() if key != "RNNKIT_SMOKE"}
    env["MPLBACKEND"] = "Agg"
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT / "src"), os.environ.get("PYTHONPATH", "")]))
    groups = readme.block_groups(readme.readme_blocks(readme.README.read_text(encoding="utf-8")))
    if args.sections is not None:
        groups = [g for g in groups if any(word in g[0].section for word in args.sections)]
    groups = [g for g in groups if not any(word in g[0].section for word in args.skip)]
    timings = []
    for group in groups:
        first = group[0]
        code, argv = readme.runnable(group, [], readme.free_port())
        if first.language == "sh" and "npm pack" in first.code:  # the one installation line that fetches data
            subprocess.run(["npm", "pack", "emoji-datasource-twitter"], cwd=args.out, check=True)
        started, cpu = time.monotonic(), children_cpu()
        done = subprocess.run(argv, input=code, cwd=args.out, env=env, text=True, capture_output=True)
        wall, used = time.monotonic() - started, children_cpu() - cpu
        head = next((line for line in first.code.splitlines() if line.strip() and not line.startswith("#")), "")
        print(f"line {first.line:4d} {first.section[:40]:40s} {wall:8.1f} s wall {used:8.1f} s CPU  {head[:70]}",
              flush=True)
        timings.append({"line": first.line, "section": first.section, "wall_s": round(wall, 1),
                        "cpu_s": round(used, 1), "returncode": done.returncode, "first": head})
        (args.out / f"block-{first.line}.log").write_text(done.stdout + "\n--- stderr ---\n" + done.stderr)
        if done.returncode != 0:
            print(f"  failed ({done.returncode}); see {args.out}/block-{first.line}.log", flush=True)
            break
    if args.json:
        args.json.write_text(json.dumps(timings, indent=1))
    return 0 if all(t["returncode"] == 0 for t in timings) else 1


if __name__ == "__main__":
    sys.exit(main())
