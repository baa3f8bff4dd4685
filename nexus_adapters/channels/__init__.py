"""The message channels: the WhatsApp Cloud API over httpx and email over SMTP, each one a
``MessageChannel`` that classifies every failure as API.md's "Channels and delivery receipts"
says."""
