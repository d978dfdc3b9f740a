"""MinIO, the S3 store under the lakehouse, and its bucket."""

from __future__ import annotations

from urllib.parse import urlparse

import httpx
from pyarrow import fs

from fraudlake.settings import MinioSettings, PathSettings
from fraudlake.stack.artifacts import minio_binary
from fraudlake.stack.process import DaemonComponent, StackError
from fraudlake.stack.rundir import make_dir


def s3_filesystem(settings: MinioSettings) -> fs.S3FileSystem:
    """A pyarrow S3 client for MinIO (bucket creation, listings, tests)."""
    endpoint = urlparse(settings.minio_endpoint)
    return fs.S3FileSystem(
        access_key=settings.minio_root_user,
        secret_key=settings.minio_root_password.get_secret_value(),
        endpoint_override=endpoint.netloc,
        scheme=endpoint.scheme,
        region=settings.minio_region,
        allow_bucket_creation=True,
    )


class Minio(DaemonComponent):
    name = "minio"
    label = "MinIO"
    stop_timeout = 30.0

    settings: MinioSettings

    def __init__(self, paths: PathSettings, settings: MinioSettings):
        super().__init__(paths, settings)
        self.data_dir = (paths.fraudlake_run_dir / "minio").resolve()

    def ports(self) -> list[tuple[str, int]]:
        return [("MINIO_PORT", self.settings.minio_port), ("MINIO_CONSOLE_PORT", self.settings.minio_console_port)]

    def healthy(self) -> bool:
        return httpx.get(f"{self.settings.minio_endpoint}/minio/health/live", timeout=2).status_code == 200

    def start(self) -> None:
        if self.pid() is None:
            binary = minio_binary(self.paths)
            if not binary.exists():
                raise StackError(f"MinIO is not built yet ({binary}); run `fraudlake fetch` (or `make up`).")
            self.claim_ports()
            make_dir(self.data_dir)
            self.daemon.spawn(
                [str(binary), "server", str(self.data_dir),
                 "--address", f"127.0.0.1:{self.settings.minio_port}",
                 "--console-address", f"127.0.0.1:{self.settings.minio_console_port}", "--quiet"],
                env={
                    "MINIO_ROOT_USER": self.settings.minio_root_user,
                    "MINIO_ROOT_PASSWORD": self.settings.minio_root_password.get_secret_value(),
                    "MINIO_REGION": self.settings.minio_region,
                    "MINIO_BROWSER": "on",
                    "MINIO_UPDATE": "off",
                },
            )
        self.wait_healthy(timeout=60)
        self.ensure_bucket()

    def ensure_bucket(self) -> None:
        filesystem = s3_filesystem(self.settings)
        info = filesystem.get_file_info(self.settings.lakehouse_bucket)
        if info.type == fs.FileType.NotFound:
            filesystem.create_dir(self.settings.lakehouse_bucket)
