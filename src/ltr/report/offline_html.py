"""Writes .dvc/plots/offline.html: the page that `dvc plots show` and `dvc plots diff` fill (`plots.html_template`
in .dvc/config), with vega, vega-lite and vega-embed inlined, so that it draws with no network. DVC's own
page loads them from a CDN: dvc_render puts VegaRenderer.SCRIPTS in a template's `{scripts}` placeholder,
and this template has none.

The scripts are the built, minified files of the npm packages that dvc_render's SCRIPTS name, as the npm
registry serves them to `npm pack`: vega@5.20.2 (package/build/vega.min.js), vega-lite@5.2.0
(package/build/vega-lite.min.js) and vega-embed@6.18.2 (package/build/vega-embed.min.js). Each package's
LICENSE (BSD-3-Clause, University of Washington Interactive Data Lab) goes in a comment at the top of its
script; the copyright notices of what each build bundles are in its own minified file.

    python -m ltr.report.offline_html [--tarballs DIR] [--out .dvc/plots/offline.html]

--tarballs: a folder with the three .tgz files of `npm pack` (default: `npm pack` into a temporary folder).
"""

import argparse
import subprocess
import tarfile
import tempfile
from pathlib import Path

# package -> (version, built file in its tarball); dvc_render 1.x's VegaRenderer.SCRIPTS (a test compares)
PACKAGES = {
    "vega": ("5.20.2", "package/build/vega.min.js"),
    "vega-lite": ("5.2.0", "package/build/vega-lite.min.js"),
    "vega-embed": ("6.18.2", "package/build/vega-embed.min.js"),
}
OUT = Path(".dvc/plots/offline.html")
# dvc_render fills a template by str.replace of these; a script holding one would be cut
PLACEHOLDERS = ("{plot_divs}", "{scripts}", "{refresh_tag}")

PAGE = """<!DOCTYPE html>
<html>
<head>
<meta charset="utf-8">
{refresh_tag}
<title>DVC plots</title>
<!-- Written by `python -m ltr.report.offline_html`: vega, vega-lite and vega-embed inlined, so that the page
draws offline; without DVC's scripts placeholder, so that DVC adds no CDN script tags. -->
<style>
body { font-family: sans-serif; margin: 16px; }
table { border-spacing: 15px; }
</style>
@SCRIPTS@
</head>
<body>
{plot_divs}
</body>
</html>
"""


def tarball(folder: Path, package: str) -> Path:
    return folder / f"{package}-{PACKAGES[package][0]}.tgz"


def npm_pack(folder: Path) -> None:
    """The three tarballs from the npm registry, through npm's own client."""
    specs = [f"{name}@{version}" for name, (version, _) in PACKAGES.items()]
    subprocess.run(["npm", "pack", "--silent", *specs], cwd=folder, check=True, capture_output=True)


def read_member(path: Path, member: str) -> str:
    with tarfile.open(path) as archive:
        return archive.extractfile(member).read().decode("utf-8")


def script_tag(folder: Path, package: str) -> str:
    """One inline <script>: the package's licence in a comment that minifiers keep (/*!), then its build."""
    version, built = PACKAGES[package]
    code = read_member(tarball(folder, package), built)
    licence = read_member(tarball(folder, package), "package/LICENSE").strip()
    for text in ("</script", *PLACEHOLDERS):
        if text in code.lower() or text in code:
            raise SystemExit(f"error: {package}'s {built} holds {text!r}, which would break the inlined page")
    if "*/" in licence:
        raise SystemExit(f"error: {package}'s LICENSE holds '*/', which would end its comment")
    return f"<script>/*! {package} {version} (npm: {built}); its LICENSE:\n\n{licence}\n*/\n{code}\n</script>"


def page(folder: Path) -> str:
    return PAGE.replace("@SCRIPTS@", "\n".join(script_tag(folder, name) for name in PACKAGES))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tarballs", type=Path, help="folder of the `npm pack` tarballs (default: npm pack now)")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as temporary:
        folder = args.tarballs or Path(temporary)
        if args.tarballs is None:
            npm_pack(folder)
        args.out.write_text(page(folder), encoding="utf-8")
    print(f"wrote {args.out} ({args.out.stat().st_size / 1e6:.1f} MB)")


if __name__ == "__main__":
    main()
