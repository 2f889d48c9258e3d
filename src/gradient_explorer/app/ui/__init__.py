"""app/ui layer."""
