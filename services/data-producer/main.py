"""Entry point of the data-producer container: `python main.py load --csv …` = `fraudlake producer load --csv …`.

Everything else is in fraudlake.producer. It runs through the `fraudlake` command, so
a failure is reported as every fraudlake command reports it (message, exit 2).
"""

import sys

from fraudlake.cli import main

if __name__ == "__main__":
    main(["producer", *sys.argv[1:]], prog_name="fraudlake")
