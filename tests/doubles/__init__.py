"""Local servers that speak the outside world's wire formats (the WhatsApp Cloud API, SMTP), so
that the channel adapters are tested over real sockets, never against mocks of our own code."""
