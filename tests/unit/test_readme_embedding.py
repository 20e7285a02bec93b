"""The README's embedding example is code: it is extracted and run, so it cannot rot."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
START, END = "<!-- embedding:start -->", "<!-- embedding:end -->"
CODE = re.compile(r"```python\n(.*?)```", re.DOTALL)


def embedding_section() -> tuple[Path, str]:
    """The section from README.md, or from its draft in notes/ while README.md lacks it."""
    for path in (ROOT / "README.md", ROOT / "notes" / "README-embedding.md"):
        if path.exists():
            text = path.read_text(encoding="utf-8")
            if START in text and END in text:
                return path, text.split(START, 1)[1].split(END, 1)[0]
    raise AssertionError(f"no section between {START} and {END} in README.md or notes/README-embedding.md")


def test_the_embedding_example_runs_to_its_end() -> None:
    path, section = embedding_section()
    blocks = CODE.findall(section)
    assert len(blocks) == 1, f"{path.name}: the embedding section should hold exactly one python block"
    namespace: dict[str, object] = {"__name__": "readme_embedding"}
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(blocks[0], str(path), "exec"), namespace)  # the example asserts its own outcome
    balance = namespace["balance"]
    assert printed.getvalue().splitlines()[-1] == str(balance.available)  # type: ignore[attr-defined]
