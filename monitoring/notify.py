"""Alert notifications: e-mail over SMTP (smtplib) and a JSON POST to a webhook (urllib). Each returns "sent" or
a one-line error; a failing channel never stops the others or the alert log."""
from __future__ import annotations

import json
import smtplib
import urllib.request
from email.message import EmailMessage

import config

TIMEOUT_S = 10


def payload(alerts: list[dict]) -> dict:
    """The JSON body of a webhook call (and the e-mail's content)."""
    keep = ("id", "rule", "kind", "severity", "subject", "message", "value", "threshold", "run_id", "fired_at",
            "refresh_run_id")
    return {"source": "sales-forecast monitoring", "alerts": [{k: a.get(k) for k in keep} for a in alerts]}


def send_email(channel: dict, alerts: list[dict]) -> str:
    """Mail the alerts to ``channel["to"]`` through ``channel["host"]:channel["port"]`` (``starttls`` optional;
    login with SALES_SMTP_USER/SALES_SMTP_PASSWORD when set)."""
    try:
        msg = EmailMessage()
        first = alerts[0]
        more = f" (+{len(alerts) - 1} more)" if len(alerts) > 1 else ""
        msg["Subject"] = f"[sales-forecast] {first['severity']}: {first['message']}{more}"[:200]
        msg["From"] = channel.get("sender", "sales-forecast@localhost")
        to = channel["to"] if isinstance(channel["to"], list) else [channel["to"]]
        msg["To"] = ", ".join(to)
        msg.set_content("\n".join(f"- [{a['severity']}] {a['rule']}: {a['message']}" for a in alerts)
                        + "\n\n" + json.dumps(payload(alerts), indent=2, default=str))
        settings = config.load()
        with smtplib.SMTP(channel.get("host", "127.0.0.1"), int(channel.get("port", 25)), timeout=TIMEOUT_S) as smtp:
            if channel.get("starttls"):
                smtp.starttls()
            if settings.smtp_user:
                smtp.login(settings.smtp_user, settings.smtp_password or "")
            smtp.send_message(msg)
        return "sent"
    except Exception as exc:  # noqa: BLE001 - reported in the alert log
        return f"failed: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"[:300]


def post_webhook(channel: dict, alerts: list[dict]) -> str:
    """POST the alerts as JSON to ``channel["url"]``; "sent" on a 2xx answer."""
    try:
        body = json.dumps(payload(alerts), default=str).encode()
        req = urllib.request.Request(channel["url"], data=body, method="POST",
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=TIMEOUT_S) as resp:  # noqa: S310 - the operator's own URL
            return "sent" if 200 <= resp.status < 300 else f"failed: HTTP {resp.status}"
    except Exception as exc:  # noqa: BLE001 - reported in the alert log
        return f"failed: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"[:300]


def notify(channels: dict, alerts: list[dict]) -> dict:
    """Send ``alerts`` on every configured channel; ``{channel: "sent" | "failed: ..."}``."""
    out = {}
    if not alerts:
        return out
    if channels.get("email"):
        out["email"] = send_email(channels["email"], alerts)
    if channels.get("webhook"):
        out["webhook"] = post_webhook(channels["webhook"], alerts)
    return out
