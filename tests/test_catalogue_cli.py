"""`pustaka harvest` and `pustaka harvest --status` as a librarian runs them, the progress
display, the content file's `catalogue:` key, and the nightly job."""

from __future__ import annotations

import asyncio
import io
import logging
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.catalogue.progress import Progress
from bot.catalogue.schedule import JOB_ID, NightlyHarvest
from bot.content import ContentError, parse_content
from bot.runtime import Runtime
from bot.serve import serve
from storage import Storage
from tests.catalogue_support import books, load_sample_into, point_catalogues, titles
from tests.fakes.oai_pmh import FakeOAI
from tests.pustaka_process import pustaka_env, run_pustaka

LIBRARY = """
libraries:
  - slug: perpus-uji
    name: Perpustakaan Uji
    level: regency
    regency: alor
    address: Kalabahi
    opening_hours: Senin–Jumat 08.00–15.00
    catalogue: {{system: {system}, url: "{url}"}}
"""


async def test_harvest_command_and_status_after_a_failure(tmp_path: Path) -> None:
    server = FakeOAI("slims", books(150))
    await server.start()
    env = pustaka_env(PUSTAKA_DB=str(tmp_path / "p.db"))
    content = tmp_path / "perpus.yaml"
    content.write_text(LIBRARY.format(system="slims", url=server.url), "utf-8")
    try:
        nothing = await asyncio.to_thread(run_pustaka, tmp_path, env, "harvest")
        assert nothing.returncode == 0
        assert "No library has a catalogue configured" in nothing.stdout
        done = await asyncio.to_thread(run_pustaka, tmp_path, env, "import", str(content))
        assert done.returncode == 0, done.stderr
        done = await asyncio.to_thread(run_pustaka, tmp_path, env, "harvest")
        assert done.returncode == 0, done.stderr
        # Not a terminal: plain lines, no carriage returns redrawing a bar.
        assert "\r" not in done.stderr
        assert "perpus-uji: 150 records, 2 pages" in done.stderr
        assert "150 written, 0 removed, 150 in the catalogue" in done.stderr
        server.arm("badResumptionToken", on=1)
        done = await asyncio.to_thread(run_pustaka, tmp_path, env, "harvest")
        assert done.returncode == 1
        assert "OAI-PMH error badResumptionToken" in done.stderr
        assert "1 of 1 catalogues failed; their records were kept." in done.stdout
        status = await asyncio.to_thread(run_pustaka, tmp_path, env, "harvest", "--status")
        row = next(line for line in status.stdout.splitlines() if "perpus-uji" in line)
        assert "slims" in row and "150" in row and "badResumptionToken" in row
        unknown = await asyncio.to_thread(
            run_pustaka, tmp_path, env, "harvest", "--library", "tidak-ada"
        )
        assert unknown.returncode == 1 and "no catalogue is configured" in unknown.stderr
    finally:
        await server.stop()


def test_init_sample_loads_the_sample_catalogue(tmp_path: Path) -> None:
    env = pustaka_env(PUSTAKA_DB=str(tmp_path / "p.db"))
    done = run_pustaka(tmp_path, env, "init", "--sample")
    assert done.returncode == 0, done.stderr
    assert "sample book catalogue loaded (265 books)" in done.stdout
    status = run_pustaka(tmp_path, env, "harvest", "--status")
    assert "perpus-provinsi-ntt" in status.stdout and "inlislite" in status.stdout
    assert "perpus-sikka" in status.stdout and "(sample)" in status.stdout


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_is_a_bar_on_a_terminal_and_lines_elsewhere() -> None:
    tty, log = _Terminal(), io.StringIO()
    for stream in (tty, log):
        progress = Progress.for_stream("perpus-sikka", stream)
        for _ in range(3):
            progress.page()
            for _ in range(100):
                progress.record()
        progress.finish("done")
    assert tty.getvalue().count("\r") >= 2 and "300 records, 3 pages" in tty.getvalue()
    assert "/s" in tty.getvalue()
    assert "\r" not in log.getvalue()
    assert log.getvalue().splitlines()[-1].startswith("perpus-sikka: 300 records, 3 pages")


@pytest.mark.parametrize(
    ("catalogue", "problem"),
    [
        ('{system: koha, url: "https://x.example/oai"}', "catalogue.system must be one of"),
        ('{system: slims, url: "ftp://x.example/oai"}', "must start with http:// or https://"),
        ("{system: slims}", "catalogue is missing 'url'"),
        ('"https://x.example/oai"', "catalogue must be a block of 'key: value' lines"),
    ],
)
def test_a_bad_catalogue_in_the_content_file_is_refused_with_its_line(
    catalogue: str, problem: str
) -> None:
    text = LIBRARY.replace('{{system: {system}, url: "{url}"}}', catalogue)
    with pytest.raises(ContentError) as refused:
        parse_content(text, timezone="Asia/Makassar", today=datetime.now(UTC).date())
    assert problem in str(refused.value) and "line 9" in str(refused.value)


async def test_nightly_job_runs_at_two_wita_and_harvests_every_library(db_path: Path) -> None:
    storage = await Storage.open(db_path)
    inlis, slims = FakeOAI("inlislite", books(40)), FakeOAI("slims", books(30, start=500))
    await inlis.start()
    await slims.start()
    scheduler = AsyncIOScheduler(timezone=UTC)
    try:
        await load_sample_into(storage)
        await point_catalogues(
            storage,
            **{
                "perpus-provinsi-ntt": ("inlislite", inlis.url),
                "perpus-sikka": ("slims", slims.url),
            },
        )
        slims.arm("html", on=0)
        nightly = NightlyHarvest(storage, "Asia/Makassar")
        nightly.attach(scheduler)
        scheduler.start()
        job = scheduler.get_job(JOB_ID)
        wita = job.next_run_time.astimezone(ZoneInfo("Asia/Makassar"))
        assert (wita.hour, wita.minute) == (2, 0)
        await job.func()
        assert len(await titles(storage, "perpus-provinsi-ntt")) == 40
        status = (await storage.catalogue.sources(slug="perpus-sikka"))[0]
        assert status.last_error is not None and "HTML page" in status.last_error
    finally:
        scheduler.shutdown(wait=False)
        await inlis.stop()
        await slims.stop()
        await storage.close()


async def test_pustaka_run_schedules_the_nightly_harvest(
    runtime: Runtime, caplog: pytest.LogCaptureFixture
) -> None:
    runtime.settings = runtime.settings.__class__(db_path=runtime.settings.db_path)
    stop = asyncio.Event()
    with caplog.at_level(logging.INFO, logger="bot.catalogue.schedule"):
        task = asyncio.create_task(serve(runtime, stop))
        for _ in range(100):
            if "catalogue harvest scheduled nightly at 02.00" in caplog.text:
                break
            await asyncio.sleep(0.02)
        stop.set()
        await task
    assert "catalogue harvest scheduled nightly at 02.00 (Asia/Makassar)" in caplog.text


async def test_the_nightly_job_harvests_nothing_on_an_instance_that_is_not_the_leader(
    db_path: Path,
) -> None:
    storage = await Storage.open(db_path)
    inlis = FakeOAI("inlislite", books(10))
    await inlis.start()
    try:
        await load_sample_into(storage)
        await point_catalogues(storage, **{"perpus-provinsi-ntt": ("inlislite", inlis.url)})
        await NightlyHarvest(storage, "Asia/Makassar", is_leader=lambda: False).run()
        assert await titles(storage, "perpus-provinsi-ntt") == []
        await NightlyHarvest(storage, "Asia/Makassar", is_leader=lambda: True).run()
        assert len(await titles(storage, "perpus-provinsi-ntt")) == 10
    finally:
        await inlis.stop()
        await storage.close()
