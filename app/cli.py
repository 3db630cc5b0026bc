"""The ``app`` command: serve | migrate | worker | beat | seed-demo | createuser | backup | restore | alibaba."""

from __future__ import annotations

import asyncio
import getpass
import os
import signal
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, TypeVar

import typer
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import AppEnv, Settings, get_settings, local_base_url

T = TypeVar("T")
cli = typer.Typer(help="南岭明珠 platform", no_args_is_help=True, add_completion=False)

DEMO_PASSWORD = "demo1234"  # noqa: S105 - the documented demo password
DEMO_USERS = ["admin", "warehouse", "clerk", "manager", "operator", "buyer", "customer", "official", "streamer"]


def _database_url() -> str:
    from app.db import resolve_database_url

    return resolve_database_url(get_settings())


@cli.command()
def migrate() -> None:
    """Apply every Alembic migration (starts the embedded PostgreSQL when DATABASE_URL is unset)."""
    from app.migrate import upgrade_to_head

    upgrade_to_head(_database_url())
    typer.echo("数据库已迁移到最新版本 / migrated to head")


async def _with_session(work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    from app.db import create_engine, create_sessionmaker
    from app.kit.outbox import unit_of_work

    engine = create_engine(_database_url(), null_pool=True)
    try:
        async with unit_of_work(create_sessionmaker(engine)) as session:
            return await work(session)
    finally:
        await engine.dispose()


@cli.command("seed-demo")
def seed_demo() -> None:
    """Load the demo data (idempotent: running it twice changes nothing the second time)."""
    from app.demo import seed_demo as seed

    if get_settings().app_env is AppEnv.production:
        typer.echo("APP_ENV=production：不载入演示数据（演示账号的密码是公开的）", err=True)
        raise typer.Exit(1)
    report = asyncio.run(_with_session(seed))
    typer.echo(f"演示数据已就绪 / demo data ready: {report}")


@cli.command()
def createuser(
    username: Annotated[str, typer.Argument()],
    role: Annotated[str, typer.Option("--role", help="customer|buyer|clerk|station_operator|warehouse|admin")],
    password: Annotated[str | None, typer.Option(help="omit to be prompted")] = None,
    display_name: Annotated[str, typer.Option()] = "",
    company_id: Annotated[int | None, typer.Option(help="buyer: the buyer company id")] = None,
    station_code: Annotated[str | None, typer.Option(help="station_operator: the station code")] = None,
    store_code: Annotated[str | None, typer.Option(help="clerk: the store code")] = None,
) -> None:
    """Create a user with a role (argon2-hashed password)."""
    from app.accounts import repository as accounts_repository
    from app.accounts import service
    from app.accounts.models import Role
    from app.stations import repository as stations_repository

    if password is None:
        password = getpass.getpass("密码 / password: ")

    async def work(session: AsyncSession) -> str:
        station = await stations_repository.station_by_code(session, station_code) if station_code else None
        store = await accounts_repository.store_by_code(session, store_code) if store_code else None
        user = await service.create_user(
            session,
            username=username,
            password=password or "",
            role=Role(role),
            display_name=display_name,
            company_id=company_id,
            station_id=station.id if station is not None else None,
            store_id=store.id if store is not None else None,
        )
        return f"{user.username} ({user.role})"

    try:
        created = asyncio.run(_with_session(work))
    except Exception as exc:
        typer.echo(f"创建失败：{exc}", err=True)
        raise typer.Exit(1) from exc
    typer.echo(f"已创建用户 / created {created}")


@cli.command()
def worker(
    beat: Annotated[bool, typer.Option(help="also run the periodic scheduler (one per deployment)")] = False,
    concurrency: Annotated[int, typer.Option()] = 2,
    loglevel: Annotated[str, typer.Option()] = "INFO",
) -> None:
    """Run a Celery worker on CELERY_BROKER_URL, or on the database itself when unset."""
    from app.kit.metrics_dir import use_metrics_dir

    use_metrics_dir(get_settings().metrics_multiprocess_dir)  # before anything loads prometheus_client
    _database_url()
    from app.worker import configure_celery, prepare_database_broker

    prepare_database_broker(get_settings())
    app = configure_celery(get_settings())
    argv = ["worker", f"--loglevel={loglevel}", f"--concurrency={concurrency}", "-Q", "nanling"]
    if beat:
        argv += ["-B", f"--schedule={get_settings().app_data_dir / 'celerybeat-schedule'}"]
    app.worker_main(argv)


@cli.command()
def beat(loglevel: Annotated[str, typer.Option()] = "INFO") -> None:
    """Run the periodic scheduler alone (exactly one per deployment; ``app worker`` processes run
    what it schedules). ``app worker --beat`` runs both in one process instead."""
    _database_url()
    from app.worker import configure_celery, prepare_database_broker

    settings = get_settings()
    settings.app_data_dir.mkdir(parents=True, exist_ok=True)  # where beat keeps its schedule
    prepare_database_broker(settings)
    app = configure_celery(settings)
    app.start(["beat", f"--loglevel={loglevel}", f"--schedule={settings.app_data_dir / 'celerybeat-schedule'}"])


@cli.command()
def serve(
    host: Annotated[str, typer.Option()] = "127.0.0.1",
    port: Annotated[int, typer.Option()] = 8000,
    workers: Annotated[
        int | None, typer.Option(help="uvicorn worker processes (default: 1; in production one per core)")
    ] = None,
    with_worker: Annotated[bool, typer.Option("--with-worker/--no-worker", help="start a Celery worker + beat")] = True,
) -> None:
    """Migrate, load demo data into an empty database (demo env), start a Celery worker + beat
    and serve pages and API. The embedded PostgreSQL and the worker are restarted when they stop
    (``app.supervise``). Ctrl-C stops everything, the embedded PostgreSQL included."""
    import uvicorn

    from app.kit.access_log import uvicorn_log_config
    from app.kit.metrics_dir import use_metrics_dir

    use_metrics_dir(get_settings().metrics_multiprocess_dir)  # before anything loads prometheus_client
    settings = _default_public_base_url(host, port)
    workers = workers or default_web_workers(settings)
    embedded = not settings.database_url
    url = _database_url()
    from app.migrate import upgrade_to_head

    upgrade_to_head(url)
    from app.worker import prepare_database_broker

    prepare_database_broker(settings)  # before the worker child and the web processes use the broker
    if settings.is_demo:
        from app.demo import database_is_empty, seed_demo

        if asyncio.run(_with_session(database_is_empty)):
            report = asyncio.run(_with_session(seed_demo))
            typer.echo(f"已载入演示数据 / demo data loaded: {report}")

    from app.supervise import Supervisor, celery_worker, embedded_postgres_supervisor, worker_supervisor

    supervisors: list[Supervisor] = []
    if embedded:
        supervisors.append(embedded_postgres_supervisor(settings.app_data_dir / "pg"))
    worker_child = celery_worker(url) if with_worker else None
    if worker_child is not None:
        supervisors.append(worker_supervisor(worker_child))
    for supervisor in supervisors:
        supervisor.start()
    _print_banner(host, port, embedded=embedded, worker=with_worker)
    # uvicorn re-raises the signal that stopped it once it has shut down; for SIGTERM (systemd,
    # docker stop, kill) that would end the process before the clean-up below, leaving the worker
    # and the embedded PostgreSQL running. Turn it into a normal exit instead.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    try:
        uvicorn.run(
            "app.main:create_app",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            log_level=settings.log_level.lower(),
            log_config=uvicorn_log_config(),  # query-string values masked in the access log
            # The app reads X-Forwarded-For itself, from TRUSTED_PROXIES only (app.kit.http.client_address).
            proxy_headers=False,
        )
    finally:
        # Supervision ends first: what stops from here on is shutting down, not crashing.
        for supervisor in supervisors:
            supervisor.stop()
        if worker_child is not None:
            worker_child.stop()
        from app.db import stop_embedded_postgres

        stop_embedded_postgres()


def default_web_workers(settings: Settings, cores: int | None = None) -> int:
    """Web worker processes when ``--workers`` is not given: one per core in production (each
    process runs one event loop on one core), one elsewhere (a demo or a developer's machine)."""
    if settings.app_env is AppEnv.production:
        return max(1, cores if cores is not None else os.cpu_count() or 1)
    return 1


def _default_public_base_url(host: str, port: int) -> Settings:
    """Outside production an unset ``PUBLIC_BASE_URL`` becomes the address this server answers at,
    so the QR codes on labels printed from a demo open this demo, whatever ``--port`` says. It goes
    into the environment because uvicorn's worker processes and the Celery child each read their
    own settings. Production never gets here without it: its settings refuse to load."""
    settings = get_settings()
    if settings.app_env is not AppEnv.production and "public_base_url" not in settings.model_fields_set:
        os.environ["PUBLIC_BASE_URL"] = local_base_url(host, port)
        get_settings.cache_clear()
        settings = get_settings()
    return settings


def _print_banner(host: str, port: int, *, embedded: bool, worker: bool) -> None:
    base = local_base_url(host, port)
    settings = get_settings()
    database = f"embedded PostgreSQL in {settings.app_data_dir / 'pg'}" if embedded else "DATABASE_URL"
    lines = [
        "",
        "南岭明珠 Nanling Pearl 已启动 / is running",
        f"  网店 Shop            {base}/",
        f"  运营后台 Ops console  {base}/admin   (库存 stock {base}/admin/stock)",
        f"  村站工作台 Station    {base}/station",
        f"  批发 Wholesale        {base}/wholesale/apply   (订货 portal {base}/wholesale; "
        f"采购商团队 team {base}/wholesale/team; "
        f"珠三角车次 PRD trips {base}/admin/wholesale/trips)",
        f"    批发账款 Wholesale money  结算单 invoices {base}/wholesale/invoices; "
        f"对账单 statements {base}/wholesale/statements; 每周重复 standing {base}/wholesale/standing; "
        f"应收账款 receivables {base}/admin/wholesale/receivables",
        f"  国际站 Alibaba.com    {base}/admin/crossborder",
        f"  登录 Sign in          {base}/login",
        f"  二维码网址 QR links   {settings.public_base_url}  (PUBLIC_BASE_URL: lot and parcel labels)",
        f"  API 文档 API docs     {base}/docs",
        f"  健康检查 Health       {base}/healthz  {base}/readyz",
        f"  数据库 Database       {database}",
        f"  后台任务 Worker        {'Celery worker + beat started' if worker else 'not started (--no-worker)'}",
    ]
    if settings.is_demo:
        lines.append(f"  演示账号 Demo logins  {', '.join(DEMO_USERS)} / 密码 password {DEMO_PASSWORD}")
        from app.demo import DEMO_PIN

        lines.append(
            f"  门店收银 POS till     STORE-01 收银机 T1：在 {base}/admin/pos/stores/STORE-01/tills/T1 生成登记码，"
            f"在收银机浏览器打开 {base}/pos/enrol；店员 clerk / 店长 manager 的 PIN {DEMO_PIN}"
        )
        lines.append(
            f"    收银台 till {base}/pos   (店长后台 store console {base}/admin/pos; "
            f"门店销售 sales {base}/admin/pos/sales; 班次与 Z 报表 shifts {base}/admin/pos/shifts; "
            f"库存异常 stock exceptions {base}/admin/pos/exceptions; 补货 replenishment {base}/admin/pos/replenishment)"
        )
    lines.append("  Ctrl-C 停止 / to stop")
    typer.echo("\n".join(lines) + "\n")


@cli.command()
def backup(
    out: Annotated[
        Path | None, typer.Option("--out", help="folder for the archive; default BACKUP_DIR or APP_DATA_DIR/backups")
    ] = None,
) -> None:
    """Dump the database and the uploads into one timestamped, checksummed archive."""
    from app.kit.backup import BackupError, run_backup

    settings = get_settings()
    try:
        result = asyncio.run(run_backup(settings, _database_url(), out or settings.backups_dir, trigger="manual"))
    except BackupError as exc:
        typer.echo(f"备份失败 / backup failed: {exc}", err=True)
        raise typer.Exit(1) from exc
    typer.echo(
        f"备份完成 / backup written: {result.path} ({result.size_bytes} bytes, {result.uploads} upload files)\n"
        f"SHA-256 {result.sha256}"
    )


@cli.command()
def restore(
    archive: Annotated[Path, typer.Argument(help="a nanling-backup-….tar written by `app backup`")],
    force: Annotated[
        bool, typer.Option("--force", help="replace a database that has tables and uploads that exist")
    ] = False,
) -> None:
    """Check an archive's checksums, then restore its database and uploads into an empty target
    (the embedded PostgreSQL, or DATABASE_URL) and migrate it to this version. Stop the app first."""
    from app.kit.backup import BackupError, restore_backup

    settings = get_settings()
    try:
        result = asyncio.run(restore_backup(settings, _database_url(), archive, force=force))
    except BackupError as exc:
        typer.echo(f"恢复失败 / restore failed: {exc}", err=True)
        raise typer.Exit(1) from exc
    typer.echo(
        f"恢复完成 / restored the backup of {result.made_at}: {result.tables} tables, "
        f"{result.uploads} upload files, schema at {result.revision}"
    )


alibaba = typer.Typer(help="阿里巴巴国际站 Alibaba.com (ICBU): seller authorisation and status", no_args_is_help=True)
cli.add_typer(alibaba, name="alibaba")


@alibaba.command("connect")
def alibaba_connect(
    code: Annotated[str, typer.Option("--code", help="the code from the seller's authorize redirect (valid 30 min)")],
) -> None:
    """Exchange an authorization code for the seller's tokens and store them encrypted."""
    from app.crossborder import tokens
    from app.crossborder.crypto import cipher_for
    from app.crossborder.service import build_client, china_time
    from app.kit.errors import AppError

    settings = get_settings()

    async def work(session: AsyncSession) -> tokens.ConnectionView:
        async with build_client(settings) as client:
            return await tokens.connect(session, client, code, cipher=cipher_for(settings))

    try:
        view = asyncio.run(_with_session(work))
    except AppError as exc:
        typer.echo(exc.text, err=True)
        raise typer.Exit(1) from exc
    typer.echo(
        f"已连接阿里巴巴国际站 / connected: {view.account_name} ({view.account_id})，"
        f"令牌到期 {china_time(view.expires_at)}"
    )


@alibaba.command("sync")
def alibaba_sync(
    listing: Annotated[
        list[int] | None, typer.Option("--listing", help="only this listing id (repeatable); default: all")
    ] = None,
) -> None:
    """Push listings to Alibaba.com now (also those stopped on an error) and print each outcome.

    Exit status: 0 when every listing went through (online, offline as wanted, or waiting for
    Alibaba.com's audit); 1 when nothing could be synced (not connected, another run, a ban);
    2 when a configuration problem stopped the run; 3 when a listing ended in error. The summary
    counts failed calls by their business code (``CHK_CAT_NOT_LEAF``), or by the gateway's code."""
    from app.crossborder import listings as listing_service
    from app.crossborder.models import ListingState
    from app.crossborder.reports import SyncReport
    from app.crossborder.service import open_engine
    from app.db import create_engine, create_sessionmaker
    from app.kit.errors import AppError

    settings = get_settings()

    async def work() -> SyncReport:
        engine = create_engine(_database_url(), null_pool=True)
        sessionmaker = create_sessionmaker(engine)
        try:
            async with open_engine(settings, sessionmaker) as sync_engine:
                async with sessionmaker() as session, session.begin():
                    await listing_service.request_sync(session, listing)
                return await sync_engine.run(listing)
        finally:
            await engine.dispose()

    try:
        report = asyncio.run(work())
    except AppError as exc:
        typer.echo(exc.text, err=True)
        raise typer.Exit(1) from exc
    if report.skipped:
        typer.echo(f"未同步 / skipped: {report.skipped}", err=True)
        raise typer.Exit(1)
    for result in report.listings:
        line = f"{result.model_number}: {result.state.label_zh} / {result.state.value}"
        typer.echo(f"{line} — {result.message}" if result.message else line)
    calls = ", ".join(f"{key} {count}" for key, count in sorted(report.calls.items())) or "0"
    typer.echo(f"调用 calls: {calls}")
    if report.halted:
        typer.echo(f"已停止 / halted: {report.halted}", err=True)
        raise typer.Exit(2)
    failed = [r.model_number for r in report.listings if r.state is ListingState.error]
    if failed:
        typer.echo(f"同步出错 / ended in error: {', '.join(failed)}", err=True)
        raise typer.Exit(3)


@alibaba.command("status")
def alibaba_status() -> None:
    """Connection state, token expiry (China time) and listings by state; never a token or secret."""
    from app.crossborder import tokens
    from app.crossborder.service import status_lines

    report = asyncio.run(_with_session(tokens.status))
    typer.echo("\n".join(status_lines(report, get_settings())))


def main() -> None:
    try:
        get_settings()
    except ValidationError as exc:
        # A setting that is missing or wrong: say which, in one line each, instead of a traceback.
        for error in exc.errors():
            typer.echo(f"配置错误 / settings error: {error['msg'].removeprefix('Value error, ')}", err=True)
        raise SystemExit(2) from None
    cli()


if __name__ == "__main__":
    main()
