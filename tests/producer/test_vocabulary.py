"""The generator's vocabulary is data derived from the sample, and the shipped files are that derivation."""

from __future__ import annotations

import csv
import io
import re

from click.testing import CliRunner

from fraudlake.cli import main
from fraudlake.producer import vocabulary
from tests.conftest import SAMPLE_CSV


def test_the_shipped_files_are_what_the_command_derives_from_the_sample(tmp_path):
    result = CliRunner().invoke(main, ["producer", "vocabulary", "--from", str(SAMPLE_CSV), "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    written = {path.name: path.read_text() for path in tmp_path.iterdir()}
    assert written == vocabulary.shipped(), (
        "regenerate: fraudlake producer vocabulary --from data/fraudTrain_sample.csv --out src/fraudlake/producer/data")


def test_coordinates_carry_no_float_noise():
    # The sample has 31.570999999999998 for 31.571; the files keep the file's 4 decimals.
    for row in csv.DictReader(io.StringIO(vocabulary.shipped()[vocabulary.CITIES_FILE])):
        assert re.fullmatch(r"-?\d+(\.\d{1,4})?", row["lat"]) and re.fullmatch(r"-?\d+(\.\d{1,4})?", row["long"]), row


def test_the_generator_reads_every_list():
    assert len(vocabulary.CITIES) == 842 and vocabulary.CITIES[0] == ("Huslia", "AK", 99746, 65.6899, -156.292, 277)
    assert sorted(vocabulary.MERCHANTS) == sorted({"entertainment", "food_dining", "gas_transport", "grocery_net",
                                                   "grocery_pos", "health_fitness", "home", "kids_pets", "misc_net",
                                                   "misc_pos", "personal_care", "shopping_net", "shopping_pos",
                                                   "travel"})
    assert sum(map(len, vocabulary.MERCHANTS.values())) == 692
    assert "Psychologist, counselling" in vocabulary.JOBS and "Zuniga Pine" in vocabulary.STREET_NAMES
