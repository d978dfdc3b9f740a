"""Entry point of the data-producer container: `python main.py load --csv …` = `fraudlake producer load --csv …`.

Everything else is in fraudlake.producer.
"""

from fraudlake.producer.cli import producer

if __name__ == "__main__":
    producer(prog_name="fraudlake producer")
