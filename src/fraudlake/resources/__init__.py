"""The files fraudlake reads at run time, shipped inside the package.

The rule, for every file the code opens while it runs (SQL, the connector JSON and the
Connect worker's configuration, the Maven pom, the default model, the dashboard's
Streamlit script; any data file added later):
it lives under `src/fraudlake/`, ships as package data (`[tool.setuptools.package-data]`
in pyproject.toml) and is found through `importlib.resources` (`packaged_file` below),
never through a path relative to the checkout. A plain `pip install` of the wheel (what
every service image does before deleting the source) then runs exactly as an editable
checkout does. The checkout's other folders (data/, notebooks/, services/, spark/app/,
bench/) are read by people, images and tests, never by the package.

Here, in the layout of debezium-examples: `debezium/postgres/` holds one SQL file per
database, in the order they apply (`NN-<database>.sql`, plus the postgres image's init
hook), `debezium/connectors/` one JSON file per Kafka Connect connector; `kafka/` the
Connect worker's configuration; `jvm/` the pom that pins every JVM artifact and the
Maven settings `fraudlake fetch` uses.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path


def packaged_file(package: str, *parts: str) -> Path:
    """A file or directory shipped in `package`, as a filesystem path.

    Callers hand these paths to other programs (psql, mvn, streamlit), so they must be
    real files; pip installs unpack the package, so `files()` already gives a Path.
    """
    resource = files(package).joinpath(*parts)
    if not isinstance(resource, Path):
        raise RuntimeError(f"{package} is not installed as plain files (a zip?); fraudlake needs an unpacked install")
    if not resource.exists():
        raise FileNotFoundError(f"{'/'.join(parts)} is missing from the installed {package} package; "
                                "reinstall fraudlake (its package data was not shipped)")
    return resource


def resource(*parts: str) -> Path:
    """A file of this folder, e.g. resource("debezium", "connectors", "postgres-transactions.json")."""
    return packaged_file(__name__, *parts)
