"""Dashboard page server time at 100,000 conversations, served as in production.

    .venv/bin/python bench/pages.py [--json] [--conversations 100000] [--requests 100]

The same seeded data set, gunicorn server and separate load process as bench/read.py (read its
docstring), driving every dashboard page with a logged-in admin's session cookie instead of the API,
and printing p50/p95 per page beside the time of the page's SQL alone. The target is p95 ≤ 150 ms.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import read

if __name__ == "__main__":
    sys.exit(read.main(pages=True))
