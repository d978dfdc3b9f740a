"""Weekly retraining (and on demand: trigger the DAG) with a promotion gate: a
candidate trained on silver is promoted only if it beats the serving model on the
same latest period by RETRAIN_PROMOTION_MARGIN; the API then reloads it.
Without Airflow: `fraudlake model retrain`, `fraudlake model rollback`.

Trigger with `{"delta_uri": "s3a://…"}` to train from another table, or with
`{"shuffle_training_labels": true}` for the permutation test the gate must refuse."""

from __future__ import annotations

from datetime import timedelta

from fraudlake_tasks import fraudlake, fraudlake_dag

with fraudlake_dag(
    "fraudlake_retrain",
    description="Retrain from silver; promote only a better model; the API serves it",
    schedule="@weekly",
    timeout=timedelta(hours=3),
    params={"delta_uri": "", "shuffle_training_labels": False},
    tags=["model"],
) as dag:
    retrain = fraudlake(
        "retrain",
        "model retrain"
        "{% if params.delta_uri %} --delta {{ params.delta_uri }}{% endif %}"
        "{% if params.shuffle_training_labels %} --shuffle-training-labels{% endif %}",
        execution_timeout=timedelta(hours=2))
    served = fraudlake("served_model", "model current", execution_timeout=timedelta(minutes=5))
    retrain >> served
