"""The documentation holds together: every relative link and anchor resolves, and every
generated table equals what ``python3 -m useless_params.docs_tables`` writes from the committed
CSVs (so a rerun that changes a number changes the page, or this test fails)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from useless_params import docs_tables
from useless_params.errors import InputError
from workflow_helpers import REPO

PAGES = [REPO / "README.md", REPO / "config" / "README.md", *sorted((REPO / "docs").glob("*.md"))]
LINK = re.compile(r"(?<!\!)\[[^\]]*\]\(([^)\s]+)\)|!\[[^\]]*\]\(([^)\s]+)\)")


def slug(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def anchors(page: Path) -> set[str]:
    found, seen = set(), {}
    in_code = False
    for line in page.read_text().splitlines():
        if line.startswith("```"):
            in_code = not in_code
        if in_code or not line.startswith("#"):
            continue
        base = slug(line.lstrip("#"))
        count = seen.get(base, 0)
        found.add(base if count == 0 else f"{base}-{count}")  # GitHub numbers repeated headings
        seen[base] = count + 1
    return found


def links(page: Path) -> list[str]:
    text = re.sub(r"```.*?```", "", page.read_text(), flags=re.S)  # code blocks hold no links
    text = re.sub(r"`[^`\n]*`", "", text)
    return [a or b for a, b in LINK.findall(text)]


def test_the_pages_exist_and_the_readme_is_short():
    assert len(PAGES) >= 10
    assert len((REPO / "README.md").read_text().splitlines()) <= 250


@pytest.mark.parametrize("page", PAGES, ids=[str(p.relative_to(REPO)) for p in PAGES])
def test_every_relative_link_and_anchor_resolves(page):
    broken = []
    for target in links(page):
        if re.match(r"^[a-z]+:", target):
            continue  # https:, mailto: (not followed here: no internet)
        path, _, anchor = target.partition("#")
        resolved = (page.parent / path).resolve() if path else page
        if not resolved.exists():
            broken.append(f"{target}: no such file")
        elif anchor and resolved.suffix == ".md" and anchor not in anchors(resolved):
            broken.append(f"{target}: no heading with that anchor in {resolved.relative_to(REPO)}")
    assert broken == []


def test_a_broken_link_is_found(tmp_path):
    page = tmp_path / "page.md"
    page.write_text("# A title\n\nSee [here](#a-title), [there](#missing) and [that](nofile.md).\n")
    assert links(page) == ["#a-title", "#missing", "nofile.md"]
    assert anchors(page) == {"a-title"}
    assert slug("Two datasets (`configs/two_datasets.yaml`)") == "two-datasets-configstwo_datasetsyaml"


# --- Generated tables (useless_params.docs_tables).

def test_every_generated_table_equals_what_its_csvs_write(capsys):
    assert docs_tables.main(["--root", str(REPO), "--check"]) == 0, capsys.readouterr().out


def test_every_registered_table_is_on_a_page_and_every_marker_is_registered():
    used = [m["name"] for page in docs_tables.pages(REPO) for m in docs_tables.BLOCK.finditer(page.read_text())]
    assert set(used) == set(docs_tables.TABLES)


def _copy_docs(tmp_path):
    for page in docs_tables.pages(REPO):
        target = tmp_path / page.relative_to(REPO)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(page, target)
    for directory in ("docs/results", "docs/lenet300", "configs"):  # configs: the presets tables count layers of
        shutil.copytree(REPO / directory, tmp_path / directory)
    return tmp_path


def test_a_changed_number_in_a_committed_csv_fails_the_check_and_a_rewrite_fixes_it(tmp_path, capsys):
    root = _copy_docs(tmp_path)
    table1 = root / "docs/results/article/table1.csv"
    text = table1.read_text()
    changed = text.replace("0.97222", "0.96222", 1)
    assert changed != text
    table1.write_text(changed)
    assert docs_tables.main(["--root", str(root), "--check"]) == 1
    assert "docs/results.md: generated tables differ from their CSVs" in capsys.readouterr().out
    assert docs_tables.main(["--root", str(root)]) == 0
    assert "0.9622 (0.00045)" in (root / "docs/results.md").read_text()
    assert docs_tables.main(["--root", str(root), "--check"]) == 0


def test_a_missing_result_file_is_one_error_naming_it(tmp_path, capsys):
    root = _copy_docs(tmp_path)
    (root / "docs/results/two_datasets/shuffle_weights.csv").unlink()
    assert docs_tables.main(["--root", str(root), "--check"]) == 1
    assert "docs/results/two_datasets/shuffle_weights.csv: no such result file" in capsys.readouterr().err


def test_collect_copies_a_runs_files_and_every_seeds_training(tmp_path):
    run = tmp_path / "run"
    entry = docs_tables.RUNS["five_seeds"]
    for target, source in entry.files.items():
        for seed in (1, 2):
            path = run / source.replace("*/seed*", f"mnist/seed{seed}")
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(f"{target} {seed}\n")
    docs_tables.collect(run, tmp_path, 61.25, "five_seeds")
    copy = tmp_path / entry.directory
    assert (copy / "networks/mnist/seed2/training.json").read_text() == "networks 2\n"
    assert (copy / "table1.csv").is_file() and (copy / "wall_seconds.txt").read_text() == "61.2\n"
    (run / "results/table1.csv").unlink()
    with pytest.raises(InputError, match=r"no results/table1.csv \(run `snakemake results/table1.csv"):
        docs_tables.collect(run, tmp_path / "other", None, "five_seeds")
    assert not (tmp_path / "other").exists()  # nothing half-copied
