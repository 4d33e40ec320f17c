"""Where an installed referralnet finds its files and database, and where its links point."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from referralnet import resources
from referralnet.settings import Settings, describe_database

REPO = Path(__file__).resolve().parents[2]


def test_shipped_folders_are_found_from_the_package() -> None:
    assert any(resources.migrations_dir().glob("referralnet_*.py"))
    assert (resources.data_dir() / "geo" / "localities.csv").is_file()
    assert (resources.data_dir() / "examples" / "profile.toml").is_file()


def test_default_database_is_the_same_whatever_the_working_folder(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "XDG_DATA_HOME": str(tmp_path / "xdg"), "PYTHONPATH": str(REPO / "src")}
    code = "from referralnet.settings import Settings; print(Settings.from_env().database_url)"
    urls = set()
    for folder in (tmp_path / "a", tmp_path / "b"):
        folder.mkdir()
        done = subprocess.run([sys.executable, "-c", code], cwd=folder, env=env, capture_output=True, text=True, check=True)
        urls.add(done.stdout.strip())
    assert urls == {f"sqlite:///{tmp_path / 'xdg' / 'referralnet' / 'referralnet.sqlite'}"}
    assert (tmp_path / "xdg" / "referralnet").is_dir()


def test_every_command_names_its_database_on_stderr(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "XDG_DATA_HOME": str(tmp_path / "xdg"), "PYTHONPATH": str(REPO / "src")}
    default = tmp_path / "xdg" / "referralnet" / "referralnet.sqlite"
    helped = subprocess.run([sys.executable, "-m", "referralnet", "--help"], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert f"sqlite:///{default}" in helped.stdout
    listed = subprocess.run([sys.executable, "-m", "referralnet", "migrate"], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert listed.returncode == 0, listed.stderr
    assert f"referralnet: database sqlite:///{default}" in listed.stderr
    assert not list(tmp_path.glob("*.sqlite"))  # nothing created in the working folder


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, "http://127.0.0.1:8000"),
        ({"REFERRALNET_PORT": "8123"}, "http://127.0.0.1:8123"),
        ({"REFERRALNET_HOST": "0.0.0.0", "REFERRALNET_PORT": "9000"}, "http://127.0.0.1:9000"),
        ({"REFERRALNET_PUBLIC_URL": "https://rn.example.org/", "REFERRALNET_PORT": "9000"}, "https://rn.example.org"),
        ({"REFERRALNET_BASE_URL": "https://old.example.org"}, "https://old.example.org"),  # the former name
    ],
)
def test_links_start_at_the_public_url_or_the_served_address(env: dict[str, str], expected: str) -> None:
    assert Settings.from_env({"REFERRALNET_DATABASE_URL": "sqlite:///x.sqlite", **env}).base_url == expected


def test_serve_port_override_moves_the_links() -> None:
    assert Settings.from_env({"REFERRALNET_DATABASE_URL": "sqlite:///x.sqlite"}, port=8080).base_url == "http://127.0.0.1:8080"


def test_database_description_hides_the_password() -> None:
    assert describe_database("postgresql://rn:s3cret@db:5432/rn") == "postgresql://rn:***@db:5432/rn"
    assert describe_database("postgresql://rn@db/rn") == "postgresql://rn@db/rn"
    assert describe_database("sqlite:////var/lib/rn.sqlite") == "sqlite:////var/lib/rn.sqlite"
    assert (
        describe_database("postgresql://rn@/rn?host=/var/run/postgresql&password=s3cret&sslmode=require")
        == "postgresql://rn@/rn?host=/var/run/postgresql&password=***&sslmode=require"
    )
    assert describe_database("postgresql:///rn?PASSWORD=s3cret") == "postgresql:///rn?PASSWORD=***"
    assert describe_database("postgresql://rn@db/rn?sslpassword=key&pass%77ord=x") == "postgresql://rn@db/rn?sslpassword=***&pass%77ord=***"
    assert describe_database("postgresql://rn:pw@db:5432/rn?application_name=a@b") == "postgresql://rn:***@db:5432/rn?application_name=a@b"
    assert describe_database("postgresql://rn@[::1]:5432/rn") == "postgresql://rn@[::1]:5432/rn"
