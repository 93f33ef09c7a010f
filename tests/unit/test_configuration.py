"""Every environment variable the code reads is documented in docs/configuration.md and listed in
.env.example, and neither names one the code no longer reads.

The names come from the source itself, parsed with `ast` (not from grepping prose): `env("X")`,
`env.int("X", ...)` and the other methods of settings' `env` object, `os.environ["X"]`,
`os.environ.get("X")`, `os.environ.setdefault("X", ...)`, `"X" in os.environ` and `os.getenv("X")`
(also through `import os as ...` or `from os import environ, getenv`), in every Python file of the
project's packages and manage.py (not tests/, bench/, bin/, .venv).
A name built by an f-string is expanded over the literal tuple its loop or comprehension walks
(`DYNAMODB_{name.upper()}_TABLE`); any other name the parser cannot read fails the test, so that no
variable slips past it. Needs no emulator and no Django settings.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parents[2]
CONFIGURATION = BASE_DIR / "docs" / "configuration.md"
ENV_EXAMPLE = BASE_DIR / ".env.example"
NOT_PROJECT_CODE = {"tests", "bench", "bin", "docs", ".venv", ".local", ".git"}

# Read by the code, but documented in neither place, on purpose.
EXEMPT = {
    # How Django finds the settings module; manage.py, wsgi.py and the Celery app set it to
    # scheduler.settings. It is not a setting of this app, and a .env file cannot set it (the
    # settings module that reads .env is the one it names).
    "DJANGO_SETTINGS_MODULE": "Django's pointer to scheduler.settings, set by the entry points",
    # pytest sets it in its own process (and so its subprocesses'): how the settings know that
    # STAGE=test is the test suite's. Nobody configures it.
    "PYTEST_VERSION": "pytest's own marker of a process under test, read by settings.py",
}

# Documented in docs/configuration.md although the Python code does not read them: the local
# stack's Makefile variables and bin/ scripts, and AWS's own credential chain, which boto3 reads.
# They are not settings of the app, so .env.example does not list them.
DOCUMENTED_NOT_READ = {
    "DYNAMODB_PORT": "Makefile variable (make run, bin/check-ports, bin/dynamodb-local)",
    "MOTO_PORT": "Makefile variable (make run, bin/check-ports, the Procfile)",
    "PYTEST_ARGS": "Makefile variable (make test)",
    "DYNAMODB_LOCAL_DIR": "bin/dynamodb-local",
    "DYNAMODB_DATA_DIR": "bin/dynamodb-local",
    "DYNAMODB_LOCAL_NPM_VERSION": "bin/get-dynamodb-local",
    "CHROMIUM_PATH": "bin/ensure-chromium and the browser test",
    "AWS_PROFILE": "boto3's credential chain",
    "AWS_SESSION_TOKEN": "boto3's credential chain",
}

NAME = re.compile(r"[A-Z][A-Z0-9_]*")
ENV_LINE = re.compile(r"^#?\s*([A-Z][A-Z0-9_]*)=", re.MULTILINE)
BACKTICKED = re.compile(r"`([A-Z][A-Z0-9_]*)`")


# --- What the code reads ---------------------------------------------------------------------------


def project_files() -> list[Path]:
    """manage.py and every Python file of the project's top-level packages (scheduler/, the apps)."""
    files = [BASE_DIR / "manage.py"]
    for directory in sorted(BASE_DIR.iterdir()):
        if directory.is_dir() and directory.name not in NOT_PROJECT_CODE and (directory / "__init__.py").exists():
            files.extend(sorted(directory.rglob("*.py")))
    return files


class _OsNames:
    """The names one module reaches `os`, `os.environ` and `os.getenv` by (`import os as o`,
    `from os import environ`), so an alias does not hide a read."""

    def __init__(self, tree: ast.AST):
        self.os, self.environ, self.getenv = set(), set(), set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                self.os.update(alias.asname or alias.name for alias in node.names if alias.name == "os")
            elif isinstance(node, ast.ImportFrom) and node.module == "os":
                for alias in node.names:
                    if alias.name == "environ":
                        self.environ.add(alias.asname or alias.name)
                    elif alias.name == "getenv":
                        self.getenv.add(alias.asname or alias.name)

    def is_environ(self, node: ast.AST) -> bool:
        if isinstance(node, ast.Name):
            return node.id in self.environ
        return (
            isinstance(node, ast.Attribute)
            and node.attr == "environ"
            and isinstance(node.value, ast.Name)
            and node.value.id in self.os
        )

    def is_getenv(self, node: ast.AST) -> bool:
        if isinstance(node, ast.Name):
            return node.id in self.getenv
        return (
            isinstance(node, ast.Attribute)
            and node.attr == "getenv"
            and isinstance(node.value, ast.Name)
            and node.value.id in self.os
        )


def _name_argument(call: ast.Call) -> ast.AST | None:
    """The node naming the variable: the first positional argument, or `var=`."""
    if call.args:
        return call.args[0]
    return next((keyword.value for keyword in call.keywords if keyword.arg == "var"), None)


def environment_reads(tree: ast.AST) -> list[ast.AST]:
    """The nodes that name a variable read from the environment, in one module."""
    names = _OsNames(tree)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            # env("X"), env.str("X"), env.int("X"), env.bool("X"), env.list("X"), ...
            is_env = (isinstance(func, ast.Name) and func.id == "env") or (
                isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id == "env"
            )
            # os.environ.get("X"), os.environ.setdefault("X", ...), os.environ.pop("X")
            is_environ_method = (
                isinstance(func, ast.Attribute)
                and func.attr in {"get", "setdefault", "pop"}
                and names.is_environ(func.value)
            )
            if is_env or is_environ_method or names.is_getenv(func):  # ... and os.getenv("X")
                argument = _name_argument(node)
                if argument is not None:
                    found.append(argument)
        elif isinstance(node, ast.Subscript) and names.is_environ(node.value):  # os.environ["X"]
            found.append(node.slice)
        elif isinstance(node, ast.Compare) and any(names.is_environ(c) for c in node.comparators):  # "X" in os.environ
            found.append(node.left)
    return found


def _loop_values(tree: ast.AST) -> dict[str, list[str]]:
    """Loop variables bound to a literal tuple or list of strings, by name (`for name in ("a", "b")`)."""
    values: dict[str, list[str]] = {}
    for node in ast.walk(tree):
        comprehension = isinstance(node, ast.DictComp | ast.ListComp | ast.SetComp | ast.GeneratorExp)
        loops = node.generators if comprehension else []
        if isinstance(node, ast.For):
            loops = [node]
        for loop in loops:
            if (
                isinstance(loop.target, ast.Name)
                and isinstance(loop.iter, ast.Tuple | ast.List)
                and all(isinstance(e, ast.Constant) and isinstance(e.value, str) for e in loop.iter.elts)
            ):
                values[loop.target.id] = [e.value for e in loop.iter.elts]
    return values


def _expand(node: ast.AST, loops: dict[str, list[str]]) -> list[str] | None:
    """The names a node can produce, or None when it is not a literal or a loop-expanded f-string."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if not isinstance(node, ast.JoinedStr):
        return None
    names = [""]
    for part in node.values:
        if isinstance(part, ast.Constant):
            names = [name + part.value for name in names]
            continue
        value = part.value
        method = None
        if isinstance(value, ast.Call) and isinstance(value.func, ast.Attribute) and not value.args:
            method, value = value.func.attr, value.func.value
        if not isinstance(value, ast.Name) or value.id not in loops or method not in {None, "upper", "lower"}:
            return None
        names = [name + (getattr(v, method)() if method else v) for name in names for v in loops[value.id]]
    return names


def names_read_by_code() -> dict[str, str]:
    """Every variable the code reads: name -> where (the first place found)."""
    read: dict[str, str] = {}
    unreadable = []
    for path in project_files():
        tree = ast.parse(path.read_text(), filename=str(path))
        loops = _loop_values(tree)
        for node in environment_reads(tree):
            where = f"{path.relative_to(BASE_DIR)}:{node.lineno}"
            names = _expand(node, loops)
            if names is None:
                unreadable.append(f"{where}: {ast.unparse(node)}")
                continue
            for name in names:
                read.setdefault(name, where)
    assert not unreadable, (
        "These reads of the environment do not name their variable in a way this test can read; "
        "use a literal name (or a loop over a literal tuple):\n  " + "\n  ".join(unreadable)
    )
    return read


# --- What the docs and .env.example list ----------------------------------------------------------


def names_in_configuration_tables() -> set[str]:
    """Names in backticks in the first cell of each table row of docs/configuration.md."""
    names = set()
    for line in CONFIGURATION.read_text().splitlines():
        if not line.startswith("|") or re.match(r"^\|\s*:?-{3,}", line):
            continue
        first_cell = line.split("|")[1]
        names.update(BACKTICKED.findall(first_cell))
    return names - {"variable"}


def names_in_env_example() -> set[str]:
    return set(ENV_LINE.findall(ENV_EXAMPLE.read_text()))


# --- The checks ---------------------------------------------------------------------------------------


def test_the_parser_finds_every_kind_of_read():
    """The finder sees each form of read, so a test that passes is not one that found nothing."""
    source = (
        "import os\nimport os as system\nfrom os import environ as environment, getenv\nimport environ\n"
        'env.str("A_STR", default="")\nenv("A_CALL")\nenv.int(var="A_KEYWORD", default=1)\n'
        'os.environ["A_SUBSCRIPT"]\nos.environ.get("A_GET", "x")\nos.getenv("A_GETENV")\n'
        'os.environ.setdefault("A_SETDEFAULT", "y")\n"A_IN" in os.environ\n'
        '{n: env.str(f"T_{n.upper()}_TABLE") for n in ("one", "two")}\n'
        'system.environ["AN_ALIAS"]\nenvironment.get("A_FROM_IMPORT")\ngetenv("A_BARE_GETENV")\n'
        'environ.Env.read_env("not-a-name")\nsettings.get("NOT_ENV")\n'
    )
    tree = ast.parse(source)
    loops = _loop_values(tree)
    found = sorted(name for node in environment_reads(tree) for name in _expand(node, loops))
    assert found == sorted(
        ["A_STR", "A_CALL", "A_KEYWORD", "A_SUBSCRIPT", "A_GET", "A_GETENV", "A_SETDEFAULT", "A_IN"]
        + ["T_ONE_TABLE", "T_TWO_TABLE", "AN_ALIAS", "A_FROM_IMPORT", "A_BARE_GETENV"]
    )


def test_the_code_reads_the_settings_we_know_of():
    read = names_read_by_code()
    # One of each way in: settings' env object, a loop-built table name, gunicorn's and memory's
    # os.environ, the entry points' setdefault.
    for name in ("STAGE", "DYNAMODB_LOGINS_TABLE", "WEB_CONCURRENCY", "MALLOC_ARENAS", "DJANGO_SETTINGS_MODULE"):
        assert name in read, name


def test_every_variable_read_is_documented_in_configuration_md():
    read = names_read_by_code()
    documented = names_in_configuration_tables()
    missing = {name: where for name, where in read.items() if name not in documented and name not in EXEMPT}
    assert not missing, f"Read by the code but not in a table of docs/configuration.md: {missing}"


def test_configuration_md_documents_no_stale_variable():
    read = names_read_by_code()
    stale = names_in_configuration_tables() - set(read) - set(DOCUMENTED_NOT_READ)
    assert not stale, f"docs/configuration.md documents variables no code reads: {sorted(stale)}"


def test_every_variable_read_is_listed_in_env_example():
    read = names_read_by_code()
    listed = names_in_env_example()
    missing = {name: where for name, where in read.items() if name not in listed and name not in EXEMPT}
    assert not missing, f"Read by the code but not listed in .env.example: {missing}"


def test_env_example_lists_no_stale_variable():
    stale = names_in_env_example() - set(names_read_by_code())
    assert not stale, f".env.example lists variables no code reads: {sorted(stale)}"


def test_the_exemptions_are_still_needed():
    """An exemption for a name the code no longer reads, or one the docs no longer name, is stale too."""
    read = names_read_by_code()
    documented = names_in_configuration_tables()
    assert set(EXEMPT) <= set(read), sorted(set(EXEMPT) - set(read))
    assert not set(EXEMPT) & documented, "an exempt name is documented after all: drop its exemption"
    assert not set(DOCUMENTED_NOT_READ) & set(read), "read by the code after all: drop it from DOCUMENTED_NOT_READ"
    assert set(DOCUMENTED_NOT_READ) <= documented, sorted(set(DOCUMENTED_NOT_READ) - documented)
