"""The README's examples of adding a proxy, a strategy and a predictor run as written.

Each block runs in a fresh interpreter, so its registration does not leak into the tests.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parent.parent / "README.md"
SECTION = "## Adding a proxy, a strategy or a predictor"


def contributor_blocks() -> list[str]:
    text = README.read_text(encoding="utf-8")
    assert SECTION in text, "the README lost its contributor section"
    section = text.split(SECTION, 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```python\n(.*?)```", section, flags=re.S)


def test_the_section_shows_a_proxy_a_strategy_and_a_predictor():
    blocks = contributor_blocks()
    assert len(blocks) == 3
    assert "@proxy(" in blocks[0] and "STRATEGIES.register" in blocks[1] and "MODELS.register" in blocks[2]


@pytest.mark.parametrize("block", contributor_blocks(), ids=["proxy", "strategy", "predictor"])
def test_block_runs(block):
    result = subprocess.run([sys.executable, "-c", block], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
