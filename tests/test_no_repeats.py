"""A setting is declared once: no block of six or more lines repeats between the pipelines, the CLI modules and
the task configs (issue 15). Blank lines, comments, imports and lone closing brackets do not count."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import rnnkit

FOLDERS = ("pipelines", "cli", "adapters", "tasks")
BLOCK = 6
SKIPPED = (")", "]", "}", '"""', "):", "else:", "try:")


def code_lines(path: Path) -> list[tuple[int, str]]:
    lines = [(number, line.strip()) for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)]
    return [(number, line) for number, line in lines
            if line and not line.startswith(("#", "import ", "from ")) and line not in SKIPPED]


def test_no_block_of_six_lines_is_repeated():
    root = Path(rnnkit.__file__).parent
    places = defaultdict(list)
    for folder in FOLDERS:
        for path in sorted((root / folder).rglob("*.py")):
            lines = code_lines(path)
            for start in range(len(lines) - BLOCK + 1):
                block = tuple(line for _, line in lines[start:start + BLOCK])
                places[block].append(f"{path.relative_to(root)}:{lines[start][0]}")
    repeated = [f"{' and '.join(where)}: {block[0]}" for block, where in places.items() if len(where) > 1]
    assert repeated == [], "\n".join(repeated)
