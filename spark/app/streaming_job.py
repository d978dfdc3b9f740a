"""The lakehouse streaming job: CDC topic → bronze, quarantine, silver and gold Delta
tables on MinIO. The logic is in `fraudlake.lakehouse.job`; `make up` runs the same
code as `fraudlake lakehouse run`, and compose runs this file against its Spark master.

    python spark/app/streaming_job.py
"""

import sys

from fraudlake.lakehouse.job import main

if __name__ == "__main__":
    sys.exit(main())
