#!/usr/bin/env python3
"""Fails when an #include breaks the module dependency direction (DESIGN.md section 5).

Each module may include itself and the modules listed for it here. Keep this table and the DEPS of each
src/<module>/CMakeLists.txt in step: the table is the rule, CMake is how it is linked.
"""
import pathlib
import re
import sys

ALLOWED = {
    "common": set(),
    "config": {"common"},
    "store": {"common"},
    "package": {"common"},
    "metrics": {"common"},
    "router": {"common"},
    "runtime": {"common"},
    "gateway": {"common", "router", "runtime", "metrics"},
    "alarms": {"common", "metrics", "store", "config"},
    "deploy": {"common", "config", "store", "package", "router", "runtime", "metrics", "alarms"},
    "api": {"common", "config", "store", "package", "router", "runtime", "metrics", "alarms", "deploy",
            "gateway"},
    "cli": {"common", "config", "package"},
    "daemon": {"common", "config", "store", "package", "router", "runtime", "metrics", "alarms", "deploy",
               "api", "gateway", "cli"},
}

INCLUDE = re.compile(r'^\s*#\s*include\s+"([a-z_]+)/')


def main(src: pathlib.Path) -> int:
    errors = []
    for path in sorted(src.rglob("*")):
        if path.suffix not in (".h", ".cc"):
            continue
        module = path.relative_to(src).parts[0]
        if module not in ALLOWED:
            errors.append(f"{path}: module '{module}' is not in tools/check_layers.py")
            continue
        for lineno, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
            m = INCLUDE.match(line)
            if not m:
                continue
            dep = m.group(1)
            if dep != module and dep not in ALLOWED[module]:
                errors.append(f"{path}:{lineno}: {module} may not include {dep}/ "
                              f"(allowed: {', '.join(sorted(ALLOWED[module])) or 'nothing'})")
    for e in errors:
        print(e, file=sys.stderr)
    print(f"layering: {len(errors)} violation(s)")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else "src")))
