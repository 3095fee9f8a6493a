"""`cli.py user|token|audit` and the audit entries of command-line writes; `serve` refuses a public address
with no user. Errors print one line and exit 2."""
from __future__ import annotations

import getpass
import io
import json
import sys
from pathlib import Path

import pytest

import auth
import cli
from auth import commands, web
from data import accounts

SHOP = Path(__file__).resolve().parent / "data" / "shop_daily.csv"


@pytest.fixture
def db(tmp_path, monkeypatch):
    path = tmp_path / "cli.db"
    monkeypatch.setenv("SALES_DB", f"sqlite:///{path}")
    return str(path)


def _run(capsys, *argv, stdin: str | None = None, monkeypatch=None):
    if stdin is not None:
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_user_add_from_stdin_list_json_and_remove(db, capsys, monkeypatch):
    code, out, _ = _run(capsys, "user", "add", "ann", "--role", "analyst", "--password-stdin", "--db", db,
                        stdin="analyst-pass\n", monkeypatch=monkeypatch)
    assert code == 0 and "added user ann (analyst)" in out
    assert auth.authenticate("ann", "analyst-pass").role == "analyst"
    assert auth.authenticate("ann", "analyst-pass\n") is None  # the newline is not part of the password
    code, out, _ = _run(capsys, "user", "list", "--json", "--db", db)
    rows = json.loads(out)
    assert code == 0 and [(r["name"], r["role"], r["tokens"]) for r in rows] == [("ann", "analyst", 0)]
    assert "password_hash" not in rows[0]
    code, out, _ = _run(capsys, "user", "list", "--db", db)
    assert out.startswith("ann") and "analyst" in out
    code, out, _ = _run(capsys, "user", "remove", "ann", "--db", db)
    assert code == 0 and not auth.auth_enabled()


def test_user_add_prompts_twice_without_password_stdin(db, capsys, monkeypatch):
    answers = iter(["admin-pass", "admin-pass"])
    monkeypatch.setattr(getpass, "getpass", lambda prompt="": next(answers))
    assert _run(capsys, "user", "add", "root", "--role", "admin", "--db", db)[0] == 0
    assert auth.authenticate("root", "admin-pass").role == "admin"
    answers = iter(["one-password", "another-one"])
    code, out, err = _run(capsys, "user", "add", "bob", "--role", "viewer", "--db", db)
    assert code == 2 and err.strip() == "error: the two passwords differ" and accounts.user_row("bob") is None


@pytest.mark.parametrize("argv,stdin,message", [
    (["user", "add", "ann", "--role", "analyst", "--password-stdin"], "short\n",
     "error: the password must have at least 8 characters"),
    (["user", "add", "ann", "--password-stdin"], "long-enough\n", "error: user add needs --role viewer|analyst|admin"),
    (["user", "add", "dup", "--role", "viewer", "--password-stdin"], "long-enough\n",
     "error: user 'dup' already exists"),
    (["user", "remove", "ghost"], None, "error: no user 'ghost' (see `python cli.py user list`)"),
    (["token", "create", "ghost"], None,
     "error: no user 'ghost': add it with `python cli.py user add ghost --role viewer`"),
    (["token", "revoke", "99"], None, "error: no active token with id 99"),
])
def test_refusals_are_one_line_with_exit_code_2(db, capsys, monkeypatch, argv, stdin, message):
    auth.add_user("dup", "viewer", "dup-password")
    code, out, err = _run(capsys, *argv, "--db", db, stdin=stdin, monkeypatch=monkeypatch)
    assert code == 2 and err.strip() == message and "Traceback" not in err


def test_an_unknown_role_is_refused_by_the_parser(db, capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(["user", "add", "ann", "--role", "owner", "--db", db])
    assert exc.value.code == 2 and "invalid choice: 'owner'" in capsys.readouterr().err


def test_token_create_json_prints_it_once_and_revoke_ends_it(db, capsys):
    auth.add_user("vic", "viewer", "viewer-pass")
    code, out, _ = _run(capsys, "token", "create", "vic", "--json", "--db", db)
    created = json.loads(out)
    assert code == 0 and set(created) == {"id", "name", "role", "token"}
    assert (created["name"], created["role"]) == ("vic", "viewer") and created["token"].startswith("sf_")
    assert web.identify({"Authorization": f"Bearer {created['token']}"}, {}).name == "vic"
    assert created["token"] not in Path(db).read_bytes().decode("latin-1")  # only its hash is stored
    code, out, _ = _run(capsys, "token", "create", "vic", "--db", db)
    assert code == 0 and out.count("sf_") == 1
    assert _run(capsys, "token", "revoke", str(created["id"]), "--db", db)[0] == 0
    assert web.identify({"Authorization": f"Bearer {created['token']}"}, {}) is None
    assert _run(capsys, "token", "revoke", str(created["id"]), "--db", db)[0] == 2


def test_user_and_token_changes_and_imports_are_audited_with_the_cli_actor(db, capsys, monkeypatch):
    actor = commands.cli_actor()
    assert actor.startswith("cli:") and len(actor) > 4
    _run(capsys, "user", "add", "ann", "--role", "analyst", "--password-stdin", "--db", db,
         stdin="analyst-pass\n", monkeypatch=monkeypatch)
    _run(capsys, "token", "create", "ann", "--db", db)
    mapping = "date=Date,sales=Sales,store=Store,promo=Promo"
    assert _run(capsys, "ingest", "csv", str(SHOP), "--map", mapping, "--dry-run", "--db", db)[0] == 0
    assert _run(capsys, "ingest", "csv", str(SHOP), "--map", mapping, "--db", db)[0] == 0
    _run(capsys, "user", "remove", "ann", "--db", db)
    code, out, _ = _run(capsys, "audit", "--json", "--db", db)
    entries = json.loads(out)
    assert code == 0 and [e["action"] for e in entries] == ["user.remove", "import.csv", "token.create", "user.add"]
    assert {e["actor"] for e in entries} == {actor}  # the dry run wrote nothing and is not in the log
    assert json.loads(entries[-1]["detail"]) == {"name": "ann", "role": "analyst"}
    assert "shop_daily.csv" in entries[1]["detail"]
    code, out, _ = _run(capsys, "audit", "--limit", "1", "--db", db)
    assert code == 0 and len(out.strip().splitlines()) == 1 and "user.remove" in out


def test_serve_refuses_a_public_address_without_a_user(db, capsys, monkeypatch):
    import app
    monkeypatch.setattr(app, "create_app", lambda: pytest.fail("the server started"))
    code, out, err = _run(capsys, "serve", "--host", "0.0.0.0", "--db", db)
    assert code == 2 and err.startswith("error: refusing to serve on 0.0.0.0: no user exists")
    assert "python cli.py user add NAME --role admin" in err
