"""Slack Block Kit payloads for fraud alerts: one transaction, or a digest of several.

Pure functions of `Alert` values, so what a message shows is tested without Slack.
A card number never leaves here whole: only its last four digits are shown.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

# Slack's Block Kit limits (https://docs.slack.dev/reference/block-kit/blocks).
MAX_BLOCKS = 50
MAX_SECTION_CHARS = 3000
MAX_HEADER_CHARS = 150
# A digest longer than this is no longer read, only scrolled; the sender never folds more.
MAX_DIGEST_ALERTS = 100
# A merchant name is cut to this in a digest line, so every line stays short.
DIGEST_MERCHANT_CHARS = 40
TOP_FEATURES_SHOWN = 5

KAGGLE_MERCHANT_PREFIX = "fraud_"
LEVEL_EMOJI = {"HIGH": ":red_circle:", "MEDIUM": ":large_orange_circle:", "LOW": ":large_yellow_circle:"}
MISSING = "—"


@dataclass(frozen=True)
class Alert:
    """One pending alert with what its message shows; the transaction's fields are
    None when its `transactions` row no longer exists."""

    trans_num: str
    risk_level: str
    fraud_probability: float
    amt: Decimal | None = None
    merchant: str | None = None
    category: str | None = None
    cc_num: int | None = None
    trans_date_trans_time: datetime | None = None
    top_features: list[dict] = field(default_factory=list)


def mask_card(cc_num: int) -> str:
    """The last four digits of a card number, e.g. `•••• 1234`."""
    return f"•••• {str(cc_num)[-4:]}"


def alert_message(alert: Alert) -> dict:
    """The message for one alert: level, transaction details, why the model flagged it."""
    level = f"{LEVEL_EMOJI.get(alert.risk_level, '')} {alert.risk_level} fraud risk".strip()
    details = {
        "Amount": _amount(alert),
        "Merchant": _escape(_merchant(alert)),
        "Category": _escape(alert.category or MISSING),
        "Card": _card(alert),
        "Time": _time(alert),
        "Probability": _probability(alert),
    }
    blocks = [
        {"type": "header", "text": {"type": "plain_text", "text": f"{level}: {_amount(alert)}"[:MAX_HEADER_CHARS], "emoji": True}},
        {"type": "section", "fields": [{"type": "mrkdwn", "text": f"*{name}*\n{value}"} for name, value in details.items()]},
        {"type": "section", "text": {"type": "mrkdwn", "text": _top_features(alert.top_features)[:MAX_SECTION_CHARS]}},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": f"trans_num `{_escape(alert.trans_num)}`"}]},
    ]
    text = f"{alert.risk_level} fraud risk: {_amount(alert)} at {_escape(_merchant(alert))}, card {_card(alert)}, {_probability(alert)}"
    return {"text": text, "blocks": blocks}


def digest_message(alerts: list[Alert], pending_after: int) -> dict:
    """One message listing `alerts` a line each, and how many are still queued behind them."""
    if not 0 < len(alerts) <= MAX_DIGEST_ALERTS:
        raise ValueError(f"a digest holds 1 to {MAX_DIGEST_ALERTS} alerts, got {len(alerts)}")
    by_level = {level: sum(alert.risk_level == level for alert in alerts) for level in LEVEL_EMOJI}
    tally = ", ".join(f"{count} {level}" for level, count in by_level.items() if count)
    title = f"{len(alerts)} fraud alerts ({tally})"
    blocks: list[dict] = [{"type": "header", "text": {"type": "plain_text", "text": title[:MAX_HEADER_CHARS], "emoji": True}}]
    # MAX_DIGEST_ALERTS lines of a few hundred characters at most fill about a dozen
    # sections, well under MAX_BLOCKS.
    for chunk in _chunks([_digest_line(alert) for alert in alerts], MAX_SECTION_CHARS):
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": chunk}})
    queued = f"{pending_after} more alerts still queued" if pending_after else "No more alerts queued"
    blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": queued}]})
    return {"text": f"{title}; {queued.lower()}", "blocks": blocks}


def _digest_line(alert: Alert) -> str:
    merchant = _merchant(alert)
    if len(merchant) > DIGEST_MERCHANT_CHARS:
        merchant = merchant[: DIGEST_MERCHANT_CHARS - 1] + "…"
    parts = [
        f"{LEVEL_EMOJI.get(alert.risk_level, '')} *{alert.risk_level}*",
        _amount(alert),
        _escape(merchant),
        _card(alert),
        _probability(alert),
        f"`{_escape(alert.trans_num)}`",
    ]
    return " · ".join(parts)


def _chunks(lines: list[str], limit: int) -> list[str]:
    """Lines joined by newlines into texts of at most `limit` characters each."""
    chunks: list[str] = []
    for line in lines:
        if chunks and len(chunks[-1]) + 1 + len(line) <= limit:
            chunks[-1] += "\n" + line
        else:
            chunks.append(line[:limit])
    return chunks


def _top_features(features: list[dict]) -> str:
    if not features:
        return f"*Top features*\n{MISSING}"
    lines = [
        f"• `{_escape(str(item.get('feature')))}` = {_number(item.get('value'))} (contribution {_signed(item.get('contribution'))})"
        for item in features[:TOP_FEATURES_SHOWN]
    ]
    return "*Top features*\n" + "\n".join(lines)


def _amount(alert: Alert) -> str:
    return MISSING if alert.amt is None else f"${alert.amt:,.2f}"


def _merchant(alert: Alert) -> str:
    if alert.merchant is None:
        return MISSING
    return alert.merchant.removeprefix(KAGGLE_MERCHANT_PREFIX)


def _card(alert: Alert) -> str:
    return MISSING if alert.cc_num is None else mask_card(alert.cc_num)


def _time(alert: Alert) -> str:
    return MISSING if alert.trans_date_trans_time is None else alert.trans_date_trans_time.strftime("%Y-%m-%d %H:%M:%S")


def _probability(alert: Alert) -> str:
    return f"{alert.fraud_probability:.1%}"


def _number(value) -> str:
    if value is None:
        return MISSING
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def _signed(value) -> str:
    return MISSING if value is None else f"{value:+.2f}"


def _escape(text: str) -> str:
    """Slack mrkdwn treats `&`, `<` and `>` as markup; merchant names may hold them."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
