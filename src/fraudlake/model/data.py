"""Where labelled transactions for training and evaluation come from.

A Kaggle-format CSV (the real files, or the sample), a Delta table of the lakehouse
(silver holds one current row per transaction), or the data-producer's generator.
Every source gives the 22 columns with the types `fraudlake.kaggle.read_kaggle_csv`
gives, so the feature code sees one shape.
"""

from __future__ import annotations

import pandas as pd

from fraudlake.schema import COLUMN_NAMES
from fraudlake.settings import get_minio_settings


def _minio_storage_options() -> dict[str, str]:
    minio = get_minio_settings()
    return {
        "AWS_ENDPOINT_URL": minio.minio_endpoint,
        "AWS_REGION": minio.minio_region,
        "AWS_ACCESS_KEY_ID": minio.minio_root_user,
        "AWS_SECRET_ACCESS_KEY": minio.minio_root_password.get_secret_value(),
        "AWS_ALLOW_HTTP": str(minio.minio_endpoint.startswith("http://")).lower(),
    }


def read_delta_transactions(uri: str) -> pd.DataFrame:
    """The 22 columns of a Delta table at a local path or an s3a:// / s3:// URI on MinIO."""
    from deltalake import DeltaTable

    remote = uri.startswith(("s3a://", "s3://"))
    table = DeltaTable(uri.replace("s3a://", "s3://", 1), storage_options=_minio_storage_options() if remote else None)
    frame = table.to_pandas(columns=list(COLUMN_NAMES))
    # Spark stores timestamps as UTC instants and money as decimals; the features want
    # the wall-clock time and floats, as in the CSV.
    for column in ("trans_date_trans_time", "dob"):
        values = pd.to_datetime(frame[column])
        frame[column] = values.dt.tz_convert(None) if values.dt.tz is not None else values
    frame["amt"] = frame["amt"].astype("float64")
    frame["is_fraud"] = frame["is_fraud"].astype("int8")
    return frame
