"""Runs the Python package's tests and prints cargo's summary line
("test result: ok. N passed; M failed; ..."), which scripts/test.sh adds up."""

import sys
import unittest
from pathlib import Path

suite = unittest.defaultTestLoader.discover(str(Path(__file__).parent), pattern="test_*.py")
result = unittest.TextTestRunner(verbosity=2).run(suite)
failed = len(result.failures) + len(result.errors)
passed = result.testsRun - failed - len(result.skipped)
status = "ok" if result.wasSuccessful() else "FAILED"
print(f"test result: {status}. {passed} passed; {failed} failed; {len(result.skipped)} ignored (python)")
sys.exit(0 if result.wasSuccessful() else 1)
