"""Holodeck's sample web service."""
