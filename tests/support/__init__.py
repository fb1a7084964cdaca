"""Helpers shared by the tests, bench/ and scripts/ (not tests themselves)."""
