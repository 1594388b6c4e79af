"""What the tests share: personas, sockets, the browser, the cluster, fuzzing, the XSS corpus.

Test modules import from here, never from each other or from conftest.py (which keeps
fixtures only)."""
