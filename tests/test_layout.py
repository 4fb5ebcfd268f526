"""The package is laid out by layer, and each layer imports only those below it (README "Layout")."""

import ast
from pathlib import Path

DEDUP = Path(__file__).resolve().parents[1] / "dedup"
ORDER = ["runtime", "core", "storage", "io", "routing", "batch", "review", "dispatch", "tools"]
# what each layer may import besides itself (config: the frozen settings every layer reads)
ALLOWED = {"runtime": set(), "core": {"runtime"}, "storage": {"runtime", "core"}, "io": {"runtime", "core"},
           "routing": {"runtime", "core", "storage", "io"},
           "batch": {"runtime", "core", "storage", "io", "routing"},
           "review": {"runtime", "core", "storage", "io"},
           "dispatch": {"runtime", "core", "storage", "io"},
           "tools": {"runtime", "core", "storage", "io", "routing", "batch"}}


def _imported_layers(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names = []
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        for name in names:
            parts = name.split(".")
            if parts[0] == "dedup" and len(parts) > 1 and parts[1] in ORDER:
                found.add(parts[1])
    return found


def test_every_module_lives_in_a_layer():
    loose = sorted(p.name for p in DEDUP.glob("*.py"))
    assert loose == ["__init__.py", "config.py"], loose
    assert {p.name for p in DEDUP.iterdir() if p.is_dir() and (p / "__init__.py").exists()} == set(ORDER) | {"cli"}


def test_each_layer_imports_only_the_layers_below_it():
    wrong = {}
    for layer in ORDER:
        for path in sorted((DEDUP / layer).glob("*.py")):
            above = _imported_layers(path) - ALLOWED[layer] - {layer}
            if above:
                wrong[f"{layer}/{path.name}"] = sorted(above)
    assert wrong == {}


def test_no_module_imports_the_cli():
    users = [p for p in DEDUP.rglob("*.py") if "cli" not in p.relative_to(DEDUP).parts[:1]
             and "from dedup.cli" in p.read_text(encoding="utf-8")]
    assert users == []
