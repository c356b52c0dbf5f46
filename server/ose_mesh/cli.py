"""The `ose-mesh` command: serve, migrate, beat-token, init, import, export-schema, run."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from ose_mesh.config import ConfigError, Settings, load_settings


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    command: int = args.run(args)
    return command


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ose-mesh", description="OSE Service Mesh server")
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    serve = commands.add_parser("serve", help="run the server")
    serve.add_argument("--host", help="interface to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (default 8000, or SERVICE_MESH_PORT)")
    serve.add_argument(
        "--demo", action="store_true", default=None, help="register the demo topology"
    )
    serve.add_argument("--database-url", help="sqlite+aiosqlite:///… or postgresql+asyncpg://…")
    serve.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    serve.add_argument(
        "--no-access-log", action="store_true", help="do not log every request (busy servers)"
    )
    serve.add_argument(
        "--cluster",
        action="store_true",
        default=None,
        help="run as one of several replicas on one PostgreSQL database and RabbitMQ",
    )
    serve.add_argument(
        "--replica-id", help="this replica's name in the cluster (default: host name-pid)"
    )
    serve.add_argument(
        "--insecure",
        action="store_true",
        help="allow a non-loopback --host with no token configured (anyone can change anything)",
    )
    serve.set_defaults(run=_serve)

    migrate = commands.add_parser(
        "migrate", help="bring the database's schema up to date (serve also does it at startup)"
    )
    migrate.add_argument("--database-url", help="sqlite+aiosqlite:///… or postgresql+asyncpg://…")
    migrate.set_defaults(run=_migrate)

    beat_token = commands.add_parser(
        "beat-token", help="print the token with which a service may push its own beats"
    )
    beat_token.add_argument("service_id")
    beat_token.set_defaults(run=_beat_token)

    init = commands.add_parser("init", help="load a catalog of services and dependencies")
    init.add_argument("--catalog", type=Path, required=True, help="YAML or JSON catalog")
    init.add_argument("--database-url", help="sqlite+aiosqlite:///… or postgresql+asyncpg://…")
    init.set_defaults(run=_import, reader="catalog")

    importer = commands.add_parser("import", help="import dependencies from other tools' files")
    sources = importer.add_subparsers(required=True, metavar="FORMAT")
    for name, help_text in (
        ("compose", "docker-compose depends_on"),
        ("backstage", "Backstage catalog-info.yaml"),
    ):
        source = sources.add_parser(name, help=help_text)
        source.add_argument("file", type=Path)
        source.add_argument(
            "--database-url", help="sqlite+aiosqlite:///… or postgresql+asyncpg://…"
        )
        source.set_defaults(run=_import, reader=name, catalog=None)

    job = commands.add_parser(
        "run",
        help="run a command (a cron job, a script) between two beats of a push service",
        description="Beats 'started', runs the command, then beats its outcome (exit code 0 "
        "is a success) with its duration as latency. Exits with the command's exit code; "
        "the mesh being away never stops the command.",
    )
    job.add_argument("service_id")
    job.add_argument("command", nargs=argparse.REMAINDER, help="-- command args…")
    job.add_argument(
        "--url",
        default=os.environ.get("OSE_MESH_URL", "http://127.0.0.1:8000"),
        help="the mesh (default OSE_MESH_URL, else http://127.0.0.1:8000)",
    )
    job.add_argument(
        "--token-file",
        type=Path,
        help="a file holding the service's beat token (or a write token); default: the "
        "OSE_MESH_TOKEN variable. Not an argument, which every user of the machine could see",
    )
    job.set_defaults(run=_run_job)

    export = commands.add_parser("export-schema", help="write the GraphQL schema (SDL)")
    export.add_argument("--output", type=Path, default=Path("schema.graphql"))
    export.add_argument(
        "--check", action="store_true", help="exit 1 if the file differs from the code"
    )
    export.set_defaults(run=_export_schema)
    return parser


def _serve(args: argparse.Namespace) -> int:
    from ose_mesh import bootstrap, serving
    from ose_mesh.adapters.notify import NotificationSenders
    from ose_mesh.app import create_app

    try:
        settings = load_settings(
            host=args.host,
            port=args.port,
            demo=args.demo,
            database_url=args.database_url,
            cluster=args.cluster,
            replica_id=args.replica_id,
        )
        tokens = bootstrap.tokens(settings)
        bootstrap.notification_targets(settings, NotificationSenders())  # a bad file stops here
    except ConfigError as exc:
        print(f"ose-mesh: {exc}", file=sys.stderr)
        return 2
    if (problem := settings.cluster_problem()) is not None:
        print(f"ose-mesh: {problem}", file=sys.stderr)
        return 2
    if not tokens.enabled and not settings.listens_on_loopback and not args.insecure:
        print(PROTECTED_MODE.format(host=settings.host), file=sys.stderr)
        return 2
    if (problem := _database_problem(settings.database_url)) is not None:
        print(f"ose-mesh: {problem}", file=sys.stderr)
        return 1
    if (problem := _sharing_problem(settings)) is not None:
        print(f"ose-mesh: {problem}", file=sys.stderr)
        return 3
    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    # Its DEBUG lines carry every SQL parameter (health URLs with credentials among them).
    logging.getLogger("aiosqlite").setLevel(max(logging.INFO, logging.root.level))
    app = create_app(settings)
    print(f"OSE Service Mesh on http://{settings.host}:{settings.port}", file=sys.stderr)
    config = serving.config(
        app,
        host=settings.host,
        port=settings.port,
        header_timeout=settings.header_timeout_seconds,
        max_connections=settings.max_connections,
        log_level=args.log_level,
        access_log=not args.no_access_log,
    )
    server = serving.MeshServer(config)
    server.run()
    if app.state.refusal is not None:  # another server holds the database
        print(f"ose-mesh: {app.state.refusal}", file=sys.stderr)
        return 3
    return 0


def _database_problem(url: str) -> str | None:
    """Why the database cannot be used, in one line without its password, or None."""
    import asyncio

    from ose_mesh.adapters.db import SqlRepository
    from ose_mesh.domain import StorageUnavailable
    from ose_mesh.domain.redaction import scrub

    repository = SqlRepository.from_url(url)

    async def ping() -> None:
        try:
            await repository.ping()
        finally:
            await repository.close()

    quiet = logging.getLogger("ose_mesh.adapters.db")  # the one line below says it all
    quiet.setLevel(logging.CRITICAL)
    try:
        asyncio.run(ping())
    except StorageUnavailable as exc:
        cause: BaseException = exc
        while cause.__cause__ is not None:
            cause = cause.__cause__
        reason = (str(cause).strip().splitlines() or [type(cause).__name__])[0]
        return f"cannot use the database {repository.safe_url}: {scrub(reason, url)}"
    finally:
        quiet.setLevel(logging.NOTSET)
    return None


def _sharing_problem(settings: Settings) -> str | None:
    """Why another server on the database keeps this one out, or None (a first look: the
    server's start-up decides, under a lock)."""
    import asyncio

    from ose_mesh.adapters.db import SqlRepository
    from ose_mesh.core.membership import Identity, Membership, default_replica_id
    from ose_mesh.domain import StorageUnavailable

    repository = SqlRepository.from_url(settings.database_url)
    identity = Identity(settings.replica_id or default_replica_id(), settings.cluster)

    async def look() -> str | None:
        try:
            if await repository.schema_revision() is None:
                return None  # a new database: nobody uses it
            return await Membership(repository, identity).problem()
        except StorageUnavailable:
            return None  # an older schema without the replica table: start-up migrates
        finally:
            await repository.close()

    return asyncio.run(look())


PROTECTED_MODE = """ose-mesh: refusing to listen on {host} with no token configured: anyone who
can reach it could register, delete and publish (protected mode).
Set tokens, then start again:
    export OSE_MESH_WRITE_TOKENS=$(python3 -c 'import secrets; print(secrets.token_urlsafe(32))')
    export OSE_MESH_READ_TOKENS=...     # optional: tokens that can only read
or listen on 127.0.0.1 (the default), or pass --insecure if the network is trusted."""


def _migrate(args: argparse.Namespace) -> int:
    import asyncio

    from ose_mesh.adapters.db import SqlRepository
    from ose_mesh.domain import StorageUnavailable

    try:
        settings = load_settings(database_url=args.database_url)
    except ConfigError as exc:
        print(f"ose-mesh: {exc}", file=sys.stderr)
        return 2

    repository = SqlRepository.from_url(settings.database_url)

    async def migrate() -> str:
        try:
            before = await repository.schema_revision()
            await repository.create_schema()
            after = await repository.schema_revision()
        finally:
            await repository.close()
        return f"{repository.safe_url}: schema revision {before or 'none'} -> {after}"

    try:
        print(asyncio.run(migrate()))
    except StorageUnavailable as exc:
        print(f"ose-mesh: {exc}", file=sys.stderr)
        return 1
    return 0


def _beat_token(args: argparse.Namespace) -> int:
    from ose_mesh import bootstrap

    try:
        token = bootstrap.tokens(load_settings()).beat_token(args.service_id)
    except ConfigError as exc:
        print(f"ose-mesh: {exc}", file=sys.stderr)
        return 2
    if token is None:
        print("ose-mesh: no write token is configured, so beats need no token", file=sys.stderr)
        return 1
    print(token)
    return 0


def _import(args: argparse.Namespace) -> int:
    """Load a file straight into the database, in one transaction (all or nothing)."""
    import asyncio

    from ose_mesh.adapters import catalog_files
    from ose_mesh.bootstrap import build_mesh
    from ose_mesh.domain import DomainError

    readers = {
        "catalog": catalog_files.read_catalog,
        "compose": catalog_files.read_compose,
        "backstage": catalog_files.read_backstage,
    }
    path: Path = args.catalog if args.reader == "catalog" else args.file
    try:
        settings = load_settings(database_url=args.database_url)
        catalog = readers[args.reader](path)
    except (ConfigError, catalog_files.CatalogError) as exc:
        print(f"ose-mesh: {exc}", file=sys.stderr)
        return 1

    async def load() -> str:
        mesh = build_mesh(settings)
        try:
            await mesh.open()
            result = await mesh.catalog.apply(catalog)
        finally:
            await mesh.close()
        return (
            f"{path}: {result.created} services created, {result.updated} updated, "
            f"{result.dependencies} dependencies"
        )

    try:
        print(asyncio.run(load()))
    except DomainError as exc:
        print(f"ose-mesh: {path}: {exc.message}", file=sys.stderr)
        return 1
    return 0


def _run_job(args: argparse.Namespace) -> int:
    import asyncio

    from ose_mesh.client import run_job

    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        print("ose-mesh run: give the command after --: ose-mesh run SERVICE_ID -- cmd args…")
        return 2
    token = os.environ.get("OSE_MESH_TOKEN") or None
    if args.token_file is not None:
        try:
            token = args.token_file.read_text().strip() or None
        except OSError as exc:
            print(f"ose-mesh run: cannot read the token file ({exc.strerror})", file=sys.stderr)
            return 2
    return asyncio.run(run_job(args.url, args.service_id, command, token=token))


def _export_schema(args: argparse.Namespace) -> int:
    from ose_mesh.api.graphql import schema

    text = str(schema) + "\n"
    if args.check:
        current = args.output.read_text("utf-8") if args.output.exists() else ""
        if current != text:
            print(
                f"{args.output} differs from the code; run `ose-mesh export-schema`",
                file=sys.stderr,
            )
            return 1
        return 0
    args.output.write_text(text, "utf-8")
    print(f"wrote {args.output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
