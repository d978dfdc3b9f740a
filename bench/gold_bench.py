"""Benchmark: the gold refresh (fraudlake.lakehouse.gold.refresh_gold) on a generated silver.

Writes --rows silver rows (transactions spread over 18 months, 1,000 cards, 700
merchants, 14 categories) as a Delta table in a temporary local folder, then
refreshes gold from it --repeat times with the lakehouse job's settings (one task
per stage, `job_conf`) and prints each refresh's wall time and the JVM's CPU
seconds (its threads' user + system time, JIT and GC included). No stack needed;
the first refresh includes the JVM's warm-up.

    .venv/bin/python bench/gold_bench.py                  # 1,300,000 rows, 3 refreshes
"""

from __future__ import annotations

import statistics
import tempfile
import time
from datetime import datetime
from pathlib import Path

import click
import psutil
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from fraudlake.lakehouse.gold import refresh_gold
from fraudlake.lakehouse.job import configure, job_conf
from fraudlake.lakehouse.tables import SILVER
from fraudlake.lakehouse.transforms import GOLD_INPUT_COLUMNS
from fraudlake.spark import build_spark_session

SECONDS_IN_18_MONTHS = 540 * 86_400


def generated_silver(spark: SparkSession, rows: int):
    """The columns gold reads, with realistic group counts (cards × days dominate)."""
    seconds = (F.col("id") * 37 % SECONDS_IN_18_MONTHS).cast("decimal(18,6)")
    return spark.range(rows).select(
        (F.lit(datetime(2019, 1, 1)).cast("timestamp_ntz")
         + F.make_dt_interval(F.lit(0), F.lit(0), F.lit(0), seconds)).alias("trans_date_trans_time"),
        F.concat(F.lit("category_"), (F.col("id") % 14).cast("string")).alias("category"),
        (F.lit(4_000_000_000_000) + F.col("id") % 1000).alias("cc_num"),
        F.concat(F.lit("merchant_"), (F.col("id") * 7 % 700).cast("string")).alias("merchant"),
        ((F.col("id") % 50_000) / 100).cast("decimal(12,2)").alias("amt"),
        (F.col("id") % 173 == 0).cast("smallint").alias("is_fraud"),
    ).select(*GOLD_INPUT_COLUMNS)


def jvm_cpu_seconds(jvm: psutil.Process) -> float:
    times = jvm.cpu_times()
    return times.user + times.system


@click.command()
@click.option("--rows", default=1_300_000, show_default=True, help="Rows of the generated silver.")
@click.option("--repeat", default=3, show_default=True)
def main(rows: int, repeat: int) -> None:
    spark = build_spark_session("fraudlake-gold-bench", {"spark.ui.enabled": "false"})
    configure(spark, job_conf(compact_min_files=20))
    jvm = psutil.Process(spark.sparkContext._jvm.java.lang.ProcessHandle.current().pid())
    with tempfile.TemporaryDirectory(prefix="gold-bench-") as root:
        def locate(table: tuple[str, ...]) -> str:
            return str(Path(root, *table))

        click.echo(f"writing {rows:,} silver rows to {locate(SILVER)} …")
        generated_silver(spark, rows).repartition(4).write.format("delta").save(locate(SILVER))
        walls, cpus = [], []
        for run in range(1, repeat + 1):
            cpu, started = jvm_cpu_seconds(jvm), time.perf_counter()
            written = refresh_gold(spark, locate)
            walls.append(time.perf_counter() - started)
            cpus.append(jvm_cpu_seconds(jvm) - cpu)
            click.echo(f"refresh {run}/{repeat}: {walls[-1]:.1f} s, JVM CPU {cpus[-1]:.1f} s; rows written {written}")
        click.echo(f"median of {repeat}: {statistics.median(walls):.1f} s, JVM CPU {statistics.median(cpus):.1f} s")
    spark.stop()


if __name__ == "__main__":
    main()
