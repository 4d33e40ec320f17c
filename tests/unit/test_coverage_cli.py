"""``referralnet coverage``: arguments, the progress bar and a run against an empty SQLite database."""

from __future__ import annotations

import argparse
import io
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from referralnet.coverage import cli


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="referralnet")
    p.add_argument("--database-url")
    cli.add_parser(p.add_subparsers(dest="command", required=True))
    return p


def test_arguments() -> None:
    args = parser().parse_args(["coverage", "--format", "csv", "--what", "gaps", "--from", "2025-01-01",
                                "--to", "2025-12-31", "--distance-km", "30", "--county", "RO-IS"])
    assert (args.func, args.format, args.what, args.distance_km, args.county) == (cli.run, "csv", "gaps", 30.0, "RO-IS")
    assert str(args.start) == "2025-01-01" and str(args.end) == "2025-12-31"
    assert parser().parse_args(["coverage"]).format == "table"
    with pytest.raises(SystemExit):
        parser().parse_args(["coverage", "--format", "xml"])
    with pytest.raises(SystemExit):
        parser().parse_args(["coverage", "--from", "yesterday"])


def test_progress_bar() -> None:
    stream = io.StringIO()
    bar = cli.ProgressBar(stream, width=10)
    bar(0.52, "reading")
    bar(0.52, "reading")  # unchanged: not redrawn
    bar(1.0, "done")
    bar.close()
    assert stream.getvalue().split("\r")[1:] == [
        "[#####.....]  52% reading" + " " * 29, "[##########] 100% done" + " " * 32 + "\n"
    ]
    quiet = io.StringIO()
    cli.ProgressBar(quiet, enabled=False)(0.5, "x")
    assert quiet.getvalue() == ""


def test_run_on_an_empty_database(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path / 'empty.sqlite'}"
    args = parser().parse_args(["--database-url", url, "coverage", "--format", "csv", "--service-type",
                                "residential_shelter", "--county", "RO-IS"])
    assert cli.run(args) == 0
    out, err = capsys.readouterr()
    lines = out.splitlines()
    assert lines[0].startswith("county,county_name,service_type,age_group,gender,exploitation_form,providers")
    assert len(lines) == 1 + 6 and lines[1].startswith("RO-IS,Iași,residential_shelter,minor,female,,0,")
    assert "100%" in err
    args = parser().parse_args(["--database-url", url, "coverage", "--what", "activity", "--quiet"])
    assert cli.run(args) == 0
    out, err = capsys.readouterr()
    assert "# counties" in out and "# organisations" in out and err == ""
    target = tmp_path / "map.svg"
    args = parser().parse_args(["--database-url", url, "coverage", "--what", "map", "--service-type", "day_centre",
                                "--output", str(target), "--quiet"])
    assert cli.run(args) == 0
    assert len(ET.parse(target).getroot().findall(".//{http://www.w3.org/2000/svg}path")) == 42
    without = parser().parse_args(["--database-url", url, "coverage", "--what", "map", "--quiet"])
    with pytest.raises(SystemExit) as usage:  # a usage error exits 2, as argparse's own
        cli.run(without)
    assert usage.value.code == 2 and "needs --service-type" in capsys.readouterr().err
    args = parser().parse_args(["--database-url", url, "coverage", "--what", "gaps", "--from", "2026-02-01",
                                "--to", "2026-01-01", "--quiet"])
    assert cli.run(args) == 2
    assert "from" in capsys.readouterr().err
