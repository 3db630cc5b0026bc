"""Passwords and PINs: argon2id at OWASP's small-server setting (7 MiB, 5 passes, 1 lane), so one
sign-in does not cost a web worker 64 MiB for life; a hash made with other parameters still signs
in and is marked for re-hashing at that sign-in."""

from __future__ import annotations

from argon2 import PasswordHasher, extract_parameters

from app.accounts.security import hash_password, needs_rehash, verify_password


def test_new_hashes_use_the_small_memory_setting() -> None:
    parameters = extract_parameters(hash_password("correct horse"))
    assert (parameters.memory_cost, parameters.time_cost, parameters.parallelism) == (7168, 5, 1)
    assert parameters.type.name == "ID"


def test_an_older_hash_still_signs_in_and_is_rehashed() -> None:
    old = PasswordHasher(memory_cost=65536, time_cost=3, parallelism=4).hash("correct horse")
    assert verify_password(old, "correct horse")
    assert not verify_password(old, "wrong horse")
    assert needs_rehash(old)
    assert not needs_rehash(hash_password("correct horse"))
