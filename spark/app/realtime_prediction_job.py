"""The realtime prediction job: every new transaction on the CDC topic scored by the
prediction API, stored in `fraud_predictions`, fraud recorded in the `fraud_alerts`
ledger that the alert sender (`fraudlake alerts run`) posts to Slack. The logic is in
`fraudlake.prediction.job`; `make up` runs the same code as `fraudlake prediction run`,
and compose runs this file against its Spark master.

    python spark/app/realtime_prediction_job.py
"""

import sys

from fraudlake.prediction.job import main

if __name__ == "__main__":
    sys.exit(main())
