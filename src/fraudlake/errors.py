"""The one error model: every failure fraudlake reports to a user is a FraudlakeError.

A FraudlakeError's message is written for the person running the command: it says
what is wrong and what to do, so the `fraudlake` command prints it alone (no
traceback) and exits 2. Anything else escaping a command is a bug and keeps its
traceback. Each subsystem defines its own subclass next to the code that raises it
(StackError, ModelLoadError, CdcDecodeError, …) and also derives from the builtin
exception that describes it (ValueError, RuntimeError), so a caller may catch
either. The classes are listed here, so a new maintainer sees the whole model:

- SettingsError            (here)                        a setting missing or invalid
- StackError               fraudlake.stack.process       a local component cannot start or be checked
  - JobFailed, TopicUnavailable
- ModelLoadError           fraudlake.model.io            the model directory cannot be served
- RiskBandsError           fraudlake.risk                model metadata without usable risk bands
- TrainingDataError        fraudlake.model.training      data that cannot train an honest model
- EvaluationDataError      fraudlake.model.report        labels a model cannot be judged on
- RegistryError            fraudlake.model.registry      no such candidate, or nothing to roll back to
- KaggleFormatError        fraudlake.kaggle              a file not in the Kaggle CSV format
- FeatureInputError        fraudlake.features            transactions lacking a feature's column
- CdcDecodeError           fraudlake.cdc                 a Kafka record that is not a change event
- HistoryUnavailable       fraudlake.api.history         PostgreSQL unreachable for the history lookup
- ApiUnavailable, ApiContractError  fraudlake.prediction.client  the prediction API cannot score
- ProducerBusy             fraudlake.dashboard.producer_control  a producer run is already going

`fraudlake.prediction.retry.Stopped` is deliberately not one: it is the job's
shutdown signal, not a failure.
"""

from __future__ import annotations


class FraudlakeError(Exception):
    """A failure with a message meant for the user; `fraudlake` prints it and exits 2."""

    exit_code = 2


class SettingsError(FraudlakeError, ValueError):
    """A setting is missing or invalid; the message names it and where it is read from."""
