"""Widgets of the library screen."""
