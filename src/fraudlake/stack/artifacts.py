"""The binaries and jars the local stack runs, fetched from package registries.

JVM artifacts come from Maven Central through the pom (`fraudlake/resources/jvm/pom.xml`,
shipped with the package, so an installed fraudlake fetches too; one profile per
classpath), MinIO from the Go module proxy through `go install`. Both land in the
cache directory (FRAUDLAKE_CACHE_DIR), outside the checkout, so every clone on the
machine shares one download. A stamp file holding the pom's hash says whether a
profile is already fetched, so a changed pin is fetched again.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import Callable, Collection
from pathlib import Path

from fraudlake.resources import resource
from fraudlake.settings import PathSettings
from fraudlake.stack.process import StackError, run

POM = resource("jvm", "pom.xml")
MAVEN_SETTINGS = resource("jvm", "settings.xml")

# The community edition is published as source only; this pseudo-version is the
# newest commit on the Go module proxy when it was pinned.
MINIO_MODULE = "github.com/minio/minio@v0.0.0-20260212201848-7aac2a2c5b7c"

INSTALL_HINTS = {
    "java": "install a Java 17 runtime: `apt-get install openjdk-17-jre-headless`",
    "mvn": "install Maven: `apt-get install maven`",
    "go": "install Go ≥ 1.24 (the Go toolchain from go.dev, or `apt-get install golang` plus GOTOOLCHAIN=auto)",
    "initdb": "install PostgreSQL 15: `apt-get install postgresql-15` (or set POSTGRES_BIN_DIR)",
}


def require_tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise StackError(f"`{name}` is not installed; {INSTALL_HINTS.get(name, 'install it')}. "
                         "`scripts/bootstrap.sh` installs every prerequisite when run as root.")
    return path


def _pom_digest() -> str:
    return hashlib.sha256(POM.read_bytes()).hexdigest()[:16]


def jar_dir(paths: PathSettings, profile: str) -> Path:
    return paths.jars_dir / profile


def plugin_dir(paths: PathSettings) -> Path:
    return paths.fraudlake_cache_dir / "connect-plugins"


def minio_binary(paths: PathSettings) -> Path:
    return paths.fraudlake_cache_dir / "bin" / "minio"


def _fetched(target: Path) -> bool:
    stamp = target / ".pom-digest"
    return stamp.exists() and stamp.read_text() == _pom_digest()


def _mvn(profile: str, goal: str, target: Path, *extra: str) -> None:
    if _fetched(target):
        return
    require_tool("mvn")
    if target.exists():
        shutil.rmtree(target)
    print(f"fetching {profile} artifacts from Maven Central into {target} …", flush=True)
    run(
        ["mvn", "-q", "-B", "-s", str(MAVEN_SETTINGS), "-f", str(POM), "-P", profile, goal,
         f"-DoutputDirectory={target}", *extra],
        what=f"resolving the {profile} jars with Maven",
        timeout=1800,
    )
    (target / ".pom-digest").write_text(_pom_digest())


def fetch_kafka(paths: PathSettings) -> None:
    _mvn("kafka", "dependency:copy-dependencies", jar_dir(paths, "kafka"))


def fetch_spark(paths: PathSettings) -> None:
    _mvn("spark", "dependency:copy-dependencies", jar_dir(paths, "spark"))


def fetch_debezium(paths: PathSettings) -> None:
    # The Debezium plugin is a tar.gz; unpacked, it is a directory Connect's plugin.path scans.
    _mvn("debezium", "dependency:unpack-dependencies", plugin_dir(paths),
         "-DincludeTypes=tar.gz", "-DexcludeTransitive=true")


def fetch_minio(paths: PathSettings) -> None:
    binary = minio_binary(paths)
    stamp = binary.with_suffix(".module")
    if binary.exists() and stamp.exists() and stamp.read_text() == MINIO_MODULE:
        return
    require_tool("go")
    print(f"building MinIO ({MINIO_MODULE}) with go install; the first build takes a few minutes …", flush=True)
    binary.parent.mkdir(parents=True, exist_ok=True)
    run(["go", "install", MINIO_MODULE], what="building MinIO", timeout=3600,
        env={"GOBIN": str(binary.parent), "GOFLAGS": os.environ.get("GOFLAGS", "") + " -buildvcs=false",
             "GOTOOLCHAIN": os.environ.get("GOTOOLCHAIN", "auto")})
    stamp.write_text(MINIO_MODULE)


# What `fraudlake fetch --only` names, in fetch order; the Spark image fetches only "spark".
FETCHERS: dict[str, Callable[[PathSettings], None]] = {
    "kafka": fetch_kafka,
    "spark": fetch_spark,
    "debezium": fetch_debezium,
    "minio": fetch_minio,
}
JVM_ARTIFACTS = {"kafka", "spark", "debezium"}


def fetch_all(paths: PathSettings, only: Collection[str] | None = None) -> None:
    """Fetch every artifact, or only those named (keys of FETCHERS)."""
    wanted = set(FETCHERS) if only is None else set(only)
    unknown = wanted - set(FETCHERS)
    if unknown:
        raise StackError(f"unknown artifact {', '.join(sorted(unknown))}; choose from {','.join(FETCHERS)}.")
    if wanted & JVM_ARTIFACTS:
        require_tool("java")
    for name, fetch in FETCHERS.items():
        if name in wanted:
            fetch(paths)


def spark_jars(paths: PathSettings) -> list[Path]:
    directory = jar_dir(paths, "spark")
    jars = sorted(directory.glob("*.jar"))
    if not jars:
        raise StackError(f"no Spark connector jars in {directory}; run `fraudlake fetch` (or `make up`) first.")
    return jars
