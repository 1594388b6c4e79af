"""Reference ASGI apps with no database and no auth, run under Daphne by bench/fanout.py."""
