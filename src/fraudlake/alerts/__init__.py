"""Slack alerts for predicted fraud: message building and the sender draining the `fraud_alerts` ledger."""
