"""Every repository path the docs name exists.

GIVEN the Markdown pages (`README.md`, `docs/**`, `benchmarks/README.md`,
`infrastructure/**/README.md`), WHEN every repository path they name is looked up, THEN each
one exists: files and folders, `path::test_name` node ids (the function is in that file),
dotted `mlplatform.x.y` modules and their attributes, and the entries of tree diagrams.

What counts as a repository path:

- a token that starts with a top-level entry of the repository (`src/`, `tests/`, `docs/`,
  ... or `Makefile`, `pyproject.toml`, ...), anywhere in a page (prose, code spans, fenced
  blocks); it is read from the repository root. `mlplatform/...` is read under `src/`;
- a Markdown link target, read from the page's folder;
- a fenced block whose first line is a bare folder (`infrastructure/kubernetes/`) is a tree:
  each entry below it, by indentation, is a path under that folder.

Runtime paths (`.mlplatform/...`, `.venv/...`), URLs and anything with `$` are not checked.
`{a,b}` is expanded and each alternative checked; `<placeholder>`, `{{.Template}}` and `*`
segments need at least one match; a path is checked up to a `...` segment. A file a command
writes (after `>`, `>>`, `-o`, `--output`) need not exist.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

TOP_DIRS = (
    ".ci",
    "benchmarks",
    "docs",
    "examples",
    "infrastructure",
    "requirements",
    "scripts",
    "src",
    "tests",
)
TOP_FILES = ("Dockerfile", "Makefile", "README.md", "package.json", "pyproject.toml")
PACKAGE = "mlplatform"
# Paths in a page that name another repository's files (the vendored schemas' provenance).
NOT_OURS = {
    "infrastructure/schemas/crd/README.md": {
        "examples/standard",  # Gateway API's examples
        "docs/operator-manual/applicationset.yaml",  # argoproj/argo-cd's
    },
}

_FENCE = re.compile(r"^\s*(```|~~~)")
_DIRS = "|".join(map(re.escape, (*TOP_DIRS, PACKAGE)))
_FILES = "|".join(map(re.escape, TOP_FILES))
# a top-level entry at the start of a token (not inside a URL, a runtime path or `$OUT/src`)
_CANDIDATE_START = re.compile(rf"(?<![\w./$-])(?:(?:{_DIRS})/|(?:{_FILES})(?![\w.-]))")
_TOKEN_END = set(" \t\n`\"'()|;=")
_LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
_REF_LINK = re.compile(r"^\s*\[[^\]]+\]:\s*(\S+)", re.MULTILINE)
_DOTTED = re.compile(rf"(?<![\w./-]){PACKAGE}(?:\.[A-Za-z_]\w*)+")
_TRAILING = ".,:;!?"
_OUTPUT_FLAG = re.compile(r"(?:>>?|\s-o|--output)\s*$")
# a folder (`name/`), a file with an extension, or a relative path (`../../examples/x/`)
_TREE_ENTRY = re.compile(
    r"[\w<>{},*-]+(/[\w<>{},*-]+)*/|[\w.<>{},*-]*\.[\w<>{}*-]+|(\.\./)+[\w./-]+"
)


def doc_pages(root: Path = ROOT) -> list[Path]:
    """The Markdown pages whose paths are checked."""
    pages = [root / "README.md", root / "benchmarks" / "README.md"]
    pages += sorted((root / "docs").rglob("*.md"))
    pages += sorted((root / "infrastructure").rglob("README.md"))
    return [page for page in pages if page.is_file()]


def broken_references(page: Path, root: Path = ROOT) -> list[str]:
    """`file:line: path` for each path named in `page` that does not exist under `root`."""
    text = page.read_text(encoding="utf-8")
    name = page.relative_to(root).as_posix()
    found = []
    for line, ref, base in _references(text, page.parent, root):
        if ref in NOT_OURS.get(name, ()) or _exists(ref, base, root):
            continue
        if base == root and _exists(ref, page.parent, root):
            continue  # a README below the root naming a path beside it
        found.append(f"{name}:{line}: {ref}")
    return sorted(set(found), key=_line_order)


def _line_order(entry: str) -> tuple[int, str]:
    _, line, ref = entry.split(":", 2)
    return int(line), ref


def _references(text: str, folder: Path, root: Path) -> Iterator[tuple[int, str, Path]]:
    """(line, path as written, folder it is relative to) for every path in the page."""
    lines = text.splitlines()
    for number, line in enumerate(lines, start=1):
        for token in _repo_tokens(line, root):
            yield number, token, root
        for dotted in _DOTTED.findall(line):
            yield number, dotted, root
    prose = _without_fences(lines)
    for pattern in (_LINK, _REF_LINK):
        for match in pattern.finditer(prose):
            target = match.group(1)
            if not _is_external(target):
                yield prose.count("\n", 0, match.start(1)) + 1, target, folder
    for number, path in _tree_entries(lines):
        yield number, path, root


def _without_fences(lines: list[str]) -> str:
    """The page with fenced blocks and code spans blanked out, line numbers kept."""
    kept, fenced = [], False
    for line in lines:
        if _FENCE.match(line):
            fenced = not fenced
            kept.append("")
        else:
            kept.append("" if fenced else line)
    return re.sub(r"(`+)[^`]*?\1", lambda m: " " * len(m.group(0)), "\n".join(kept))


def _is_external(target: str) -> bool:
    return target.startswith("#") or "://" in target or target.startswith("mailto:")


def _repo_tokens(line: str, root: Path) -> Iterator[str]:
    """Tokens of a line that start with a top-level entry of the repository."""
    for match in _CANDIDATE_START.finditer(line):
        token = _read_token(line, match.start())
        if not token or "$" in token or "://" in token:
            continue
        if _OUTPUT_FLAG.search(line[: match.start()]):
            continue  # a file the command writes (`> local.auto.tfvars`, `-o wf.yaml`)
        if token.startswith(f"{PACKAGE}/") and not _is_module_path(token, root):
            continue  # `mlplatform/<cloud>/dev/cluster` is a state key, not a module
        yield token


def _is_module_path(token: str, root: Path) -> bool:
    """`mlplatform/...` names a module when it ends in `.py` or `/`, or names a subpackage."""
    second = token.split("/")[1]
    src = root / "src" / PACKAGE
    return token.endswith((".py", "/")) or _module_file(src / second) is not None


def _read_token(line: str, start: int) -> str:
    """The path starting at `start`: stops at whitespace or quotes; `,` only inside braces."""
    depth, end = 0, start
    while end < len(line):
        char = line[end]
        if char in "{[<":
            depth += 1
        elif char in "}]>":
            if depth == 0:
                break
            depth -= 1
        elif char in _TOKEN_END or (char == "," and depth == 0):
            break
        end += 1
    return line[start:end].rstrip(_TRAILING)


def _tree_entries(lines: list[str]) -> Iterator[tuple[int, str]]:
    """Entries of tree diagrams: fenced blocks whose first line is a bare repository folder."""
    number = 0
    while number < len(lines):
        if _FENCE.match(lines[number]):
            end = next(
                (i for i in range(number + 1, len(lines)) if _FENCE.match(lines[i])), len(lines)
            )
            yield from _tree(lines, number + 1, end)
            number = end
        number += 1


def _tree(lines: list[str], first: int, end: int) -> Iterator[tuple[int, str]]:
    head = lines[first].strip() if first < end else ""
    if not (head.endswith("/") and " " not in head and _CANDIDATE_START.match(head)):
        return
    stack, last = [(-1, head.rstrip("/"))], 0
    for number in range(first + 1, end):
        line = lines[number]
        indent = len(line) - len(line.lstrip(" "))
        entry = line.strip().split(" ", 1)[0] if line.strip() else ""
        if not _TREE_ENTRY.fullmatch(entry) or indent > last + 4:
            continue  # not an entry: a blank line or a wrapped description
        last = indent
        while stack[-1][0] >= indent:
            stack.pop()
        path = f"{stack[-1][1]}/{entry}"
        yield number + 1, path
        if entry.endswith("/"):
            stack.append((indent, path.rstrip("/")))


def _exists(ref: str, base: Path, root: Path) -> bool:
    if _DOTTED.fullmatch(ref):
        return _dotted_exists(ref, root)
    path, _, node = ref.partition("::")
    path = re.sub(r":\d+(:\d+)?$", "", path.split("#", 1)[0])
    if path.startswith(f"{PACKAGE}/"):
        path = f"src/{path}"
    path = _before_ellipsis(re.sub(r"\{\{[^{}]*\}\}", "*", path))  # Go templates: `{{.Group}}`
    if not path:
        return True
    matches = [_matches(alt, base, root) for alt in _expand_braces(path)]
    if not all(matches):
        return False
    return not node or all(_has_node(p, node) for found in matches for p in found)


def _before_ellipsis(path: str) -> str:
    parts = path.split("/")
    for index, part in enumerate(parts):
        if part in {"...", "…"} or part.endswith(("...", "…")):
            return "/".join(parts[:index])
    return path


def _expand_braces(path: str) -> list[str]:
    """`a/{b,c}/d` -> `a/b/d`, `a/c/d` (nested sets too)."""
    match = re.search(r"\{([^{}]*)\}", path)
    if not match:
        return [path]
    head, tail = path[: match.start()], path[match.end() :]
    return [x for alt in match.group(1).split(",") for x in _expand_braces(head + alt + tail)]


def _matches(path: str, base: Path, root: Path) -> list[Path]:
    """The files or folders `path` names; a placeholder or glob needs one match at least."""
    want_dir = path.endswith("/")
    pattern = re.sub(r"<[^<>/]*>", "*", path.rstrip("/"))
    if any(char in pattern for char in "*?["):
        found = list(base.glob(pattern)) if not pattern.startswith("/") else []
    else:
        candidate = (base / pattern).resolve()
        found = [candidate] if candidate.exists() else []
    inside = [p for p in found if p.resolve().is_relative_to(root.resolve())]
    return [p for p in inside if p.is_dir()] if want_dir else inside


def _has_node(path: Path, node: str) -> bool:
    """`Class::test` or `test[param]` is defined in the test module `path`."""
    if path.suffix != ".py":
        return False
    scope: list[ast.stmt] = ast.parse(path.read_text(encoding="utf-8")).body
    for name in re.sub(r"\[.*\]$", "", node).split("::"):
        defs = [
            s
            for s in scope
            if isinstance(s, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
            and s.name == name
        ]
        if not defs:
            return False
        scope = defs[0].body
    return True


def _dotted_exists(ref: str, root: Path) -> bool:
    """`mlplatform.a.b.name`: the modules exist and `name` is defined in the last one.

    Only checked when `mlplatform.a` is a module: `mlplatform.io/...` labels,
    `mlplatform.toml` and tag names like `mlplatform.drift_profile` are not modules.
    """
    parts = ref.split(".")
    module = root / "src" / parts[0]
    if _module_file(module / parts[1]) is None:
        return True
    for part in parts[1:]:
        if _module_file(module / part) is not None:
            module = module / part
            continue
        source = _module_file(module)
        return source is not None and _defines(source, part)
    return True


def _module_file(path: Path) -> Path | None:
    for candidate in (path.with_suffix(".py"), path / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _defines(source: Path, name: str) -> bool:
    """`name` is a top-level function, class, assignment or import of `source`."""
    tree = ast.parse(source.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Import | ast.ImportFrom):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names.update(t.id for t in targets if isinstance(t, ast.Name))
    return name in names or "__getattr__" in names


@pytest.mark.parametrize("page", doc_pages(), ids=lambda p: p.relative_to(ROOT).as_posix())
def test_every_path_a_page_names_exists(page: Path) -> None:
    # GIVEN a page of the docs WHEN its repository paths are looked up
    broken = broken_references(page)
    # THEN none is missing
    assert not broken, "paths named in the docs that do not exist:\n" + "\n".join(broken)


def test_the_architecture_package_map_names_real_modules() -> None:
    # GIVEN the package map of the architecture page, whose first column is relative to
    # src/mlplatform
    page = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    section = page.split("## Package map", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| `([^`]+)` \|", section, re.MULTILINE)
    # WHEN each row's module or package is looked up THEN it exists
    assert len(rows) > 20
    assert not [row for row in rows if not (ROOT / "src" / PACKAGE / row).exists()]


def test_the_pages_are_found() -> None:
    pages = {p.relative_to(ROOT).as_posix() for p in doc_pages()}
    assert {"README.md", "docs/architecture.md", "docs/adr/0012-serving-runtime.md"} <= pages


SYNTHETIC = """\
# Page

The code is in `src/pkg/good.py` and `src/pkg/gone.py`; see [the other page](other.md)
and [a missing one](missing.md#part), [a site](https://example.com/src/nope.py).
Tests: `tests/test_a.py::test_here`, `tests/test_a.py::test_not_here`, `mlplatform/pkg/x.py`.
Per cloud: `infrastructure/{aws,azure}/` and `infrastructure/<cloud>/main.tf`;
at run time: `.mlplatform/x/y`.

```bash
python src/pkg/good.py --out $OUT/src/x.py > src/pkg/written.py  # writes a file
pytest tests/test_b.py -q
```

```
infrastructure/
  aws/                 the aws delta
    main.tf
  azure/               not there
```
"""


def test_the_checker_reports_missing_paths_and_passes_existing_ones(tmp_path: Path) -> None:
    # GIVEN a small repository and a page that names good and bad paths
    for name in (
        "src/pkg/good.py",
        "docs/other.md",
        "infrastructure/aws/main.tf",
        "infrastructure/gcp/x",
    ):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("\n")
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_a.py").write_text("def test_here():\n    pass\n")
    page = tmp_path / "docs" / "page.md"
    page.write_text(SYNTHETIC)
    # WHEN it is checked
    broken = broken_references(page, tmp_path)
    # THEN exactly the missing ones are reported, as file:line: path
    assert broken == [
        "docs/page.md:3: src/pkg/gone.py",
        "docs/page.md:4: missing.md#part",
        "docs/page.md:5: mlplatform/pkg/x.py",
        "docs/page.md:5: tests/test_a.py::test_not_here",
        "docs/page.md:6: infrastructure/{aws,azure}/",
        "docs/page.md:11: tests/test_b.py",
        "docs/page.md:18: infrastructure/azure/",
    ]


def test_placeholders_need_one_match_and_braces_every_alternative(tmp_path: Path) -> None:
    # GIVEN one folder per cloud for two clouds
    for cloud in ("aws", "gcp"):
        (tmp_path / "infrastructure" / cloud).mkdir(parents=True)

    # WHEN paths with placeholders and brace sets are checked
    def ok(ref: str) -> bool:
        return _exists(ref, tmp_path, tmp_path)

    # THEN a placeholder needs one match, a brace set every alternative
    assert ok("infrastructure/<cloud>/")
    assert ok("infrastructure/{aws,gcp}/")
    assert not ok("infrastructure/{aws,azure,gcp}/")
    assert ok("infrastructure/...")
    assert ok("infrastructure/{{.Cloud}}/")
    assert not ok("infrastructure/<cloud>/main.tf")


def test_dotted_module_names_are_checked(tmp_path: Path) -> None:
    # GIVEN a package with a module defining one function
    package = tmp_path / "src" / "mlplatform" / "alerts"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "render.py").write_text("def prometheus_rule():\n    pass\n")
    # WHEN dotted names are checked THEN modules and top-level names must exist
    assert _dotted_exists("mlplatform.alerts.render.prometheus_rule", tmp_path)
    assert not _dotted_exists("mlplatform.alerts.render.rules_file", tmp_path)
    assert not _dotted_exists("mlplatform.alerts.renderer", tmp_path)
    # and names that are not modules (labels, tags, the settings file) are left alone
    assert _dotted_exists("mlplatform.toml", tmp_path)
    assert _dotted_exists("mlplatform.drift_profile", tmp_path)
