"""Hushcast: self-hosted Telegram broadcast and transactional messaging with mute."""

__version__ = "0.1.0"
