"""Widgets of the first-run screen."""
