"""A small Flask app for Holodeck's build benchmark."""
