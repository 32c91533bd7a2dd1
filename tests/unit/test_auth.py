"""Roles, principals and the loopback rule: pure logic of smartworker.auth."""

from __future__ import annotations

import pytest

from smartworker.auth import ANONYMOUS, Principal, Role, digest, is_loopback


def test_roles_are_ordered_by_power_not_alphabet() -> None:
    assert Role.VIEWER < Role.OPERATOR < Role.ADMIN
    assert Role.ADMIN > Role.VIEWER and Role.ADMIN >= Role.ADMIN and not Role.VIEWER >= Role.OPERATOR
    assert sorted([Role.ADMIN, Role.VIEWER, Role.OPERATOR]) == [Role.VIEWER, Role.OPERATOR, Role.ADMIN]


@pytest.mark.parametrize(("have", "needed", "allowed"), [
    (Role.VIEWER, Role.VIEWER, True), (Role.VIEWER, Role.OPERATOR, False), (Role.VIEWER, Role.ADMIN, False),
    (Role.OPERATOR, Role.VIEWER, True), (Role.OPERATOR, Role.OPERATOR, True), (Role.OPERATOR, Role.ADMIN, False),
    (Role.ADMIN, Role.VIEWER, True), (Role.ADMIN, Role.OPERATOR, True), (Role.ADMIN, Role.ADMIN, True),
])
def test_principal_can(have: Role, needed: Role, allowed: bool) -> None:
    assert Principal("k", have, "id").can(needed) is allowed


def test_anonymous_is_the_machine_owner() -> None:
    assert ANONYMOUS.name == "anonymous" and ANONYMOUS.key_id is None and ANONYMOUS.can(Role.ADMIN)


@pytest.mark.parametrize(("host", "loopback"), [
    ("127.0.0.1", True), ("127.8.9.10", True), ("localhost", True), ("::1", True), ("[::1]", True),
    ("0.0.0.0", False), ("::", False), ("192.168.1.5", False), ("10.0.0.1", False), ("example.com", False),
    ("", False),
])
def test_loopback(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def test_digest_is_stable_and_not_the_secret() -> None:
    assert digest("sw_a_b") == digest("sw_a_b") != digest("sw_a_c")
    assert "sw_a_b" not in digest("sw_a_b")
