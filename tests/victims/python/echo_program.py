"""Prints what a program sees of how it was started, writes to stderr, and exits with the code
given as its first argument: run with and without leakhunt, the output must be the same."""
import os
import sys

print("argv", sys.argv[1:], "argv0", os.path.basename(sys.argv[0]))
print("name", __name__, "file", os.path.basename(globals().get("__file__", "-")))
print("path0", sys.path[0] == os.path.dirname(os.path.realpath(__file__)))
print("main", sorted(k for k in vars(sys.modules["__main__"]) if not k.startswith("_")))
sys.stderr.write("to stderr\n")
if len(sys.argv) > 2 and sys.argv[2] == "raise":
    raise ValueError("raised on purpose")
sys.exit(int(sys.argv[1]))
