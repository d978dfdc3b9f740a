"""Request and response bodies of the prediction API."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field, field_validator


class RawTransaction(BaseModel):
    """One transaction in the Kaggle shape. Fields the model does not use are optional,
    so the job can send a whole row and a client only what scoring needs."""

    model_config = ConfigDict(extra="ignore")

    trans_num: str = Field(min_length=1, description="Transaction id (the primary key of `transactions`).")
    trans_date_trans_time: datetime = Field(description="Wall-clock time of the transaction, e.g. 2019-01-01 00:00:18.")
    cc_num: int = Field(ge=0, description="Card number; the per-card history is keyed by it.")
    amt: float = Field(ge=0, description="Amount.")
    category: str = Field(description="Merchant category; one the model does not know is scored as missing.")
    gender: str = Field(description="M or F; anything else is scored as missing.")
    dob: date = Field(description="Cardholder's date of birth.")
    city_pop: int = Field(ge=0)
    lat: float = Field(ge=-90, le=90, description="Cardholder latitude.")
    long: float = Field(ge=-180, le=180, description="Cardholder longitude.")
    merch_lat: float = Field(ge=-90, le=90)
    merch_long: float = Field(ge=-180, le=180)
    merchant: str | None = None
    first: str | None = None
    last: str | None = None
    street: str | None = None
    city: str | None = None
    state: str | None = None
    zip: int | None = None
    job: str | None = None
    unix_time: int | None = None
    is_fraud: int | None = Field(None, description="Ignored: the label, if the client has it.")

    @field_validator("trans_date_trans_time")
    @classmethod
    def _wall_clock(cls, value: datetime) -> datetime:
        # History in PostgreSQL is wall-clock time without zone, as in the Kaggle file.
        return value.replace(tzinfo=None)


class TopFeature(BaseModel):
    feature: str
    value: float | None
    contribution: float = Field(description="Push on the log-odds of fraud (Saabas attribution).")


class Prediction(BaseModel):
    trans_num: str
    fraud_probability: float
    is_fraud: bool
    risk_level: str
    model_version: str
    top_features: list[TopFeature]


class ComponentHealth(BaseModel):
    ok: bool
    detail: str


class Health(BaseModel):
    status: str = Field(description="`ok` when every component is; `degraded` otherwise.")
    model: ComponentHealth
    database: ComponentHealth


class ModelInfo(BaseModel):
    model_version: str
    model_dir: str
    features: list[str]
    fraud_threshold: float
    risk_bands: dict[str, float]
    history_lookup: bool
    training_data: dict
    metrics: dict
