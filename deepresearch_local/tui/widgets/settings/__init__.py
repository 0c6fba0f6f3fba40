"""Widgets of the settings screen."""
