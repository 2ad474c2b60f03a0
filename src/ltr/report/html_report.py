"""results/index.html: `make report`'s comparison as one page that opens offline: no external URL,
the style inline and the figures inline as SVG. It holds the comparison table (mean ± std over the
seeds), the paired differences to softmax, every run's value of every metric, the figures, and where
the numbers come from: the git commit, the params file (its hash, the keys the runs changed, its text),
the machine and the date."""

import hashlib
import html
import os
import platform
import re
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from ltr.report.table import difference_cells, seed_cells, summary_cells

STYLE = """
body { font-family: sans-serif; margin: 24px auto; max-width: 1200px; color: #222; }
table { border-collapse: collapse; margin: 8px 0 24px; font-size: 13px; }
th, td { border: 1px solid #ccc; padding: 3px 8px; text-align: right; white-space: nowrap; }
th:first-child, td:first-child { text-align: left; }
th { background: #f2f2f2; }
em { color: #777; }
figure { margin: 16px 0 32px; }
figure svg { max-width: 100%; height: auto; }
dt { font-weight: bold; margin-top: 6px; }
pre { background: #f7f7f7; padding: 8px; overflow-x: auto; font-size: 12px; }
"""


def inline_text(text: str) -> str:
    """Markdown-ish prose (the README's words) as HTML: escaped, `code` as <code>."""
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", html.escape(text))


def table(header: list[str], rows: list[list]) -> str:
    """An HTML table; a cell is text, or (text, True) for one to set in italics."""

    def cell(value) -> str:
        text, italic = value if isinstance(value, tuple) else (value, False)
        text = html.escape(str(text))
        return f"<td><em>{text}</em></td>" if italic else f"<td>{text}</td>"

    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "\n".join("<tr>" + "".join(cell(v) for v in row) + "</tr>" for row in rows)
    return f"<table>\n<thead><tr>{head}</tr></thead>\n<tbody>\n{body}\n</tbody>\n</table>"


def inline_svg(path: Path) -> str:
    """The figure's <svg> element, without the XML prolog and doctype, which are not allowed mid-page."""
    text = path.read_text(encoding="utf-8")
    return text[text.index("<svg") :]


def _git(*args: str, cwd: Path) -> str:
    try:
        return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return ""


def commit_of(folder: Path) -> str:
    commit = _git("rev-parse", "HEAD", cwd=folder) or "unknown (not a git repository)"
    return commit + (" with uncommitted changes" if _git("status", "--porcelain", cwd=folder) else "")


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def machine_info() -> dict[str, str]:
    import torch

    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none"
    return {
        "platform": platform.platform(),
        "CPU": cpu_model(),
        "cores": str(os.cpu_count()),
        "Python": platform.python_version(),
        "torch": torch.__version__,
        "GPU": gpu,
    }


def provenance(params_file: Path, changed: list[str], date: datetime | None = None) -> dict[str, str]:
    """What the numbers come from, each as one line of text (the params file's text apart)."""
    params = params_file.read_bytes() if params_file.is_file() else b""
    folder = params_file.parent
    return {
        "commit": commit_of(folder),
        "params": f"{params_file.name}, sha256 {hashlib.sha256(params).hexdigest()}" if params else "not found",
        "keys the runs changed": ", ".join(changed),
        **machine_info(),
        "date": (date or datetime.now(UTC)).isoformat(timespec="seconds"),
    }


def page(sections: list[tuple[str, str]], title: str) -> str:
    body = "\n".join(f"<h2>{html.escape(heading)}</h2>\n{content}" for heading, content in sections)
    return (
        f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<title>{html.escape(title)}</title>\n'
        f"<style>{STYLE}</style>\n</head>\n<body>\n<h1>{html.escape(title)}</h1>\n{body}\n</body>\n</html>\n"
    )


def write_index(
    path: Path,
    frame: pd.DataFrame,
    per_seed: pd.DataFrame,
    intro: str,
    figures: list[tuple[Path, str]],
    facts: dict[str, str],
    params_text: str,
    with_seeds: bool,
) -> None:
    """The page: intro (the README section's words), the tables, the figures (svg path, caption) and
    the provenance `facts` with the params file's text."""
    figures_html = "\n".join(
        f"<figure>\n{inline_svg(svg)}\n<figcaption>{html.escape(caption)}</figcaption>\n</figure>"
        for svg, caption in figures
    )
    facts_html = "<dl>\n" + "\n".join(f"<dt>{html.escape(k)}</dt><dd>{html.escape(v)}</dd>" for k, v in facts.items())
    facts_html += (
        "\n</dl>\n<details><summary>params file</summary>\n<pre>" + html.escape(params_text) + "</pre></details>"
    )
    sections = [
        ("Comparison", f"<p>{inline_text(intro)}</p>\n" + table(*summary_cells(frame, with_seeds))),
        (
            "Paired difference to softmax",
            "<p>The method's run minus softmax's run of the same seed, mean ± sample std over the seeds; in "
            "italics where the seeds disagree on its sign.</p>\n" + table(*difference_cells(frame, per_seed)),
        ),
        ("Every run", "<p>Each seed's value of every metric.</p>\n" + table(*seed_cells(per_seed))),
        ("Figures", figures_html),
        ("Provenance", facts_html),
    ]
    path.write_text(page(sections, "Long-tailed recognition: comparison of methods"), encoding="utf-8")
