"""Bot updates: webhook and long-polling intake, what updates do, the relay (issue 15)."""
