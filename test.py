"""Runs the service's test suite: `python test.py` exits with pytest's status."""

import sys

import pytest

if __name__ == "__main__":
    sys.exit(pytest.main(["tests/app", *sys.argv[1:]]))
