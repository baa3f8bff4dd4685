"""End-to-end tests: the real ``nexus serve`` and ``nexus worker`` processes against a local
SMTP server and a local WhatsApp Cloud API double, driven over HTTP like the frontend."""
