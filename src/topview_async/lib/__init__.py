"""Handwritten helpers: tasks and polling, uploads, downloads, webhooks."""
