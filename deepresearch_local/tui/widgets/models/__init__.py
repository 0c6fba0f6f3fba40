"""Widgets of the models screen."""
