"""The README is the front door: at most 200 lines, and the commands it says work in a fresh clone
after `make repro` do, run here in a copy of the reproduced tiny repository."""

import re

import pytest

from conftest import REPO, run

README = (REPO / "README.md").read_text()


def block_after(heading: str) -> list[str]:
    """The command lines of the first ```bash block after `heading`, comments dropped."""
    section = README.split(heading, 1)[1]
    block = re.search(r"```bash\n(.*?)```", section, re.S).group(1)
    return [line.split("  #")[0].strip() for line in block.splitlines() if line.strip()]


def test_the_readme_is_at_most_200_lines():
    assert len(README.splitlines()) <= 200


@pytest.mark.e2e
def test_the_compare_and_watch_commands_run_in_a_reproduced_repository(tiny_copy):
    run(["git", "branch", "-M", "main"], tiny_copy)  # the README's branch name
    commands = block_after("## Compare and watch experiments")
    assert any(c.startswith("dvc exp run") for c in commands) and any(c.startswith("ltr show") for c in commands)
    for command in commands:
        result = run(["bash", "-c", command], tiny_copy)
        assert "ERROR" not in result.stderr, f"{command}: {result.stderr}"
    assert (tiny_copy / "compare" / "index.html").exists()
