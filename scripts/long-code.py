#!/usr/bin/env python3
"""Lists the functions over LIMIT lines and the files over FILE_LIMIT lines
under src/ (tests modules counted too), longest first.

Usage: scripts/long-code.py [ROOT] [--fn 60] [--file 600]
"""
import re
import sys
from pathlib import Path

FN = re.compile(r"^\s*(pub(\([^)]*\))?\s+)?(const\s+)?(async\s+)?(unsafe\s+)?fn\s+(\w+)")


def functions(lines):
    """(name, first line, length) of every fn with a body, by brace count."""
    out = []
    for i, line in enumerate(lines):
        m = FN.match(line)
        if not m:
            continue
        depth, opened = 0, False
        for j in range(i, len(lines)):
            code = re.sub(r'"(\\.|[^"\\])*"', '""', lines[j].split("//")[0])
            code = re.sub(r"'(\\.|[^'\\])'", "''", code)
            depth += code.count("{") - code.count("}")
            opened = opened or "{" in code
            if opened and depth <= 0:
                out.append((m.group(6), i + 1, j - i + 1))
                break
            if not opened and code.rstrip().endswith(";"):
                break
    return out


def main():
    args = sys.argv[1:]
    fn_limit = int(args[args.index("--fn") + 1]) if "--fn" in args else 60
    file_limit = int(args[args.index("--file") + 1]) if "--file" in args else 600
    roots = [a for a in args if not a.startswith("--") and not a.isdigit()] or ["src"]
    long_fns, long_files = [], []
    for root in roots:
        for path in sorted(Path(root).rglob("*.rs")):
            lines = path.read_text().splitlines()
            if len(lines) > file_limit:
                long_files.append((len(lines), str(path)))
            for name, line, n in functions(lines):
                if n > fn_limit:
                    long_fns.append((n, f"{path}:{line}", name))
    for n, where, name in sorted(long_fns, reverse=True):
        print(f"fn   {n:4} {where} {name}")
    for n, path in sorted(long_files, reverse=True):
        print(f"file {n:4} {path}")
    print(f"{len(long_fns)} function(s) over {fn_limit} lines, "
          f"{len(long_files)} file(s) over {file_limit} lines")


if __name__ == "__main__":
    main()
