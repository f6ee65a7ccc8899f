"""Local stand-ins for the payment providers' HTTP APIs (no internet in tests)."""
