"""The package's layers import only downwards: data -> nn -> tasks -> train -> eval -> pipelines -> adapters -> deploy
-> cli; inside the tasks, no task imports another.

A module may import its own layer and any layer below it. Three imports go up, each on purpose:
- ``rnnkit.train.model_folder`` finds the task classes by name when it loads a model folder (``rnnkit.tasks``),
  inside ``load_model``, never at import time;
- a task may score its own validation batches with the pure metric functions of ``rnnkit.eval.sequence_metrics``
  (edit distance for the recogniser's CER): functions of token lists, with no model, trainer or report in them;
- ``TaskModel.streamer()`` hands the model to ``rnnkit.deploy.stream``, inside the method, never at import time.
"""

import ast
from pathlib import Path

import rnnkit

ORDER = ["data", "datasets", "nn", "tasks", "train", "eval", "pipelines", "adapters", "deploy", "cli"]
ALLOWED_UP = {("train", "rnnkit.tasks"), ("tasks", "rnnkit.eval.sequence_metrics"), ("tasks", "rnnkit.deploy.stream")}


def rnnkit_imports(path: Path):
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("rnnkit."):
            yield node.module
        elif isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names if alias.name.startswith("rnnkit."))


def test_layers_import_only_downwards():
    root = Path(rnnkit.__file__).parent
    upward = []
    for path in sorted(root.rglob("*.py")):
        layer = path.relative_to(root).parts[0]
        if layer not in ORDER:
            continue  # the package root, private helpers (_fs, _config, errors) and demos sit outside the line
        for module in rnnkit_imports(path):
            target = module.split(".")[1]
            if target in ORDER and ORDER.index(target) > ORDER.index(layer) and (layer, module) not in ALLOWED_UP:
                upward.append(f"{path.relative_to(root)} imports {module}")
    assert upward == [], "\n".join(upward)


def test_no_task_imports_another_task():
    """A task model (``rnnkit/tasks/models/<task>.py``) imports the shared pieces (``base``, ``vocabulary``,
    ``encoder_decoder``, ``blocks``, ``decoding``), never another task; the shared pieces import no task. Only the
    registry, ``rnnkit/tasks/__init__.py``, names them all."""
    root = Path(rnnkit.__file__).parent / "tasks"
    sideways = []
    for path in sorted(root.rglob("*.py")):
        if path == root / "__init__.py":
            continue
        own = f"rnnkit.tasks.models.{path.stem}" if path.parent.name == "models" else None
        for module in rnnkit_imports(path):
            if module == "rnnkit.tasks" or (module.startswith("rnnkit.tasks.models.") and module != own):
                sideways.append(f"{path.relative_to(root)} imports {module}")
    assert sideways == [], "\n".join(sideways)
    assert len(list((root / "models").glob("*.py"))) == 9  # the test sees the task models (with ngrams, __init__)
