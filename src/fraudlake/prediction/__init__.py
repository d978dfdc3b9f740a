"""The realtime prediction job: every new transaction scored once by the prediction
API, stored in `fraud_predictions`, and fraud alerted to Slack from the ledger."""
