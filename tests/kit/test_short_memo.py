"""The shop pages' short memo: a value is shared until it expires, then built afresh; 0 s is off."""

from __future__ import annotations

import asyncio

from app.kit.short_memo import ShortMemo


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Builds:
    def __init__(self) -> None:
        self.count = 0

    async def __call__(self) -> int:
        self.count += 1
        return self.count


async def test_a_value_is_shared_until_it_expires() -> None:
    clock, build = Clock(), Builds()
    memo = ShortMemo(clock=clock)
    assert [await memo.get_or_build("home", 1.0, build) for _ in range(3)] == [1, 1, 1]
    clock.now += 1.01
    assert await memo.get_or_build("home", 1.0, build) == 2
    assert await memo.get_or_build("other", 1.0, build) == 3  # each key its own value


async def test_zero_seconds_builds_every_time_and_the_oldest_entry_goes_first() -> None:
    build = Builds()
    memo = ShortMemo(max_entries=2, clock=Clock())
    assert [await memo.get_or_build("k", 0, build) for _ in range(2)] == [1, 2]
    for key in ("a", "b", "c"):
        await memo.get_or_build(key, 5.0, build)
    assert await memo.get_or_build("a", 5.0, build) == 6  # "a" was evicted by "c"
    assert await memo.get_or_build("c", 5.0, build) == 5


async def test_while_one_request_rebuilds_the_others_get_the_expired_value() -> None:
    clock = Clock()
    memo = ShortMemo(clock=clock)
    first = Builds()
    assert await memo.get_or_build("home", 1.0, first) == 1
    clock.now += 2
    release = asyncio.Event()

    async def slow_build() -> int:
        await release.wait()
        return 99

    rebuilding = asyncio.create_task(memo.get_or_build("home", 1.0, slow_build))
    await asyncio.sleep(0)
    assert await memo.get_or_build("home", 1.0, first) == 1  # the expired value, no second build
    assert first.count == 1
    release.set()
    assert await rebuilding == 99
    assert await memo.get_or_build("home", 1.0, first) == 99
