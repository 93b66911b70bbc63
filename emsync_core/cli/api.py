"""`emsync api serve|keys`: the archive API (results and scoring, for API key holders) and its keys."""

from __future__ import annotations

import os

import typer
from rich.console import Console
from rich.table import Table

from emsync_core.api.policy import DEFAULT_ALLOWED_HOSTS, DEFAULT_MAX_UPLOAD_BYTES

app = typer.Typer(help="The archive API: serve it; create, list and revoke its keys.", no_args_is_help=True)
keys_app = typer.Typer(help="API keys (stored hashed; the secret is shown once).", no_args_is_help=True)
app.add_typer(keys_app, name="keys")
console = Console(stderr=True)
DB_OPTION = typer.Option(..., "--db", envvar="EMSYNC_DB_URL", help="Database URL (or env EMSYNC_DB_URL).")


@keys_app.command("create")
def create(name: str = typer.Argument(..., help="Who or what the key is for."), db: str = DB_OPTION,
           scope: list[str] = typer.Option(["read"], "--scope", help="read (list and fetch results) and/or score (submit videos); repeat.")) -> None:
    """Create a key and print its secret once (only its hash is stored)."""
    from emsync_core.api.keys import KeyRequestError, create_key
    from emsync_core.db.engine import open_database

    try:
        with open_database(db).begin() as s:
            info, secret = create_key(s, name, tuple(scope))
    except KeyRequestError as exc:
        raise typer.BadParameter(str(exc)) from None
    console.print(f"key {info.id} '{info.name}' with scopes {', '.join(info.scopes)}; the secret (shown once) is on stdout")
    typer.echo(secret)


@keys_app.command("list")
def list_cmd(db: str = DB_OPTION) -> None:
    """Keys with their scopes, last use and revocation (never the secrets)."""
    from emsync_core.api.keys import list_keys
    from emsync_core.db.engine import open_database

    with open_database(db)() as s:
        rows = list_keys(s)
    table = Table(title=f"API keys ({len(rows)})")
    for col in ("id", "name", "prefix", "scopes", "created", "last used", "revoked"):
        table.add_column(col)
    for k in rows:
        table.add_row(str(k.id), k.name, k.prefix + "...", ",".join(k.scopes), f"{k.created_at:%Y-%m-%d %H:%M}",
                      f"{k.last_used_at:%Y-%m-%d %H:%M}" if k.last_used_at else "", f"{k.revoked_at:%Y-%m-%d %H:%M}" if k.revoked_at else "")
    Console().print(table)


@keys_app.command("revoke")
def revoke(key_id: int = typer.Argument(..., min=1), db: str = DB_OPTION) -> None:
    """Revoke a key: it stops working at once."""
    from emsync_core.api.keys import KeyRequestError, revoke_key
    from emsync_core.db.engine import open_database

    try:
        with open_database(db).begin() as s:
            revoke_key(s, key_id)
    except KeyRequestError as exc:
        raise typer.BadParameter(str(exc)) from None
    console.print(f"key {key_id} revoked")


@app.command("serve")
def serve_cmd(
    db: str = DB_OPTION,
    host: str = typer.Option("127.0.0.1", help="Address the HTTP proxy listens on."),
    port: int = typer.Option(8001, min=1, max=65535, help="Port (the study page has its own, 8000 by default)."),
    root: list[str] = typer.Option([], "--root", help="A folder or gs:// prefix POST /api/score may reach (repeat; none = scoring off)."),
    allowed_host: list[str] = typer.Option(list(DEFAULT_ALLOWED_HOSTS), "--allowed-host", help="Host header values accepted (repeat)."),
    max_upload_mb: int = typer.Option(DEFAULT_MAX_UPLOAD_BYTES >> 20, min=1, max=16384, help="Largest upload accepted, MiB."),
    out: str = typer.Option(None, "--out", envvar="EMSYNC_SERVE_OUT", help="Where served soundtracks are written."),
) -> None:
    """Serve the archive API under /api with Ray Serve until Ctrl-C; every route but /healthz needs a key."""
    from emsync_core.api.policy import ApiSettings
    from ray_serve.app import serve_until_stopped

    if out:
        os.environ["EMSYNC_SERVE_OUT"] = out  # read on the replica (a local Ray inherits this environment)
    settings = ApiSettings(catalog_roots=tuple(root), allowed_hosts=tuple(allowed_host), max_upload_bytes=max_upload_mb << 20)
    serve_until_stopped(db, host, port, "emsync-api", "api", settings, lambda url: console.print(
        f"archive API on {url}/api (key: `emsync api keys create`); roots: {', '.join(root) or 'none'}; Ctrl-C stops"))
