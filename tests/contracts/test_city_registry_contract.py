"""CityRegistry: name -> address, readable by anyone, changed only by the multisig."""

from __future__ import annotations

import pytest
from evm_harness import EvmHarness, decode_revert_reason
from trust_city import (
    ADMIN_A,
    DEPT_ADMIN,
    NEWCOMER,
    OUTSIDER,
    City,
    assert_reverted,
    deploy_city,
    events_of,
    govern,
    name32,
    ok,
)

from contracts.artifacts import load_artifact

NOT_ADMINISTRATION = "CityRegistry: caller is not the city administration"
ZERO = b"\0" * 20


@pytest.fixture
def city() -> City:
    city = deploy_city(admit_departments=False)
    ok(govern(city, city.registry, "setAddress", name32("TrustList"), city.trust_list.address))
    return city


def test_constructor_registers_the_given_entries() -> None:
    harness = EvmHarness([ADMIN_A])
    registry, deployment = harness.deploy_contract(
        ADMIN_A, load_artifact("CityRegistry"), ("address", NEWCOMER.address),
        ("bytes32[]", [name32("A"), name32("B")]), ("address[]", [OUTSIDER.address, ADMIN_A.address]),
    )
    assert registry.call("administration") == NEWCOMER.address
    assert registry.call("names") == (name32("A"), name32("B"))
    assert registry.call("addressOf", name32("B")) == ADMIN_A.address
    assert events_of(registry, deployment) == [
        ("AddressSet", {"name": name32("A"), "previousAddress": ZERO, "newAddress": OUTSIDER.address}),
        ("AddressSet", {"name": name32("B"), "previousAddress": ZERO, "newAddress": ADMIN_A.address}),
    ]


@pytest.mark.parametrize(
    ("administration", "names", "addresses", "reason"),
    [
        (ZERO, [], [], "CityRegistry: zero administration"),
        (NEWCOMER.address, [name32("A")], [], "CityRegistry: names and addresses differ in length"),
        (NEWCOMER.address, [b"\0" * 32], [OUTSIDER.address], "CityRegistry: empty name"),
        (NEWCOMER.address, [name32("A")], [ZERO], "CityRegistry: zero address"),
        (NEWCOMER.address, [name32("A")] * 2, [OUTSIDER.address] * 2, "CityRegistry: address unchanged"),
    ],
)
def test_constructor_refuses_bad_arguments(administration, names, addresses, reason) -> None:
    result = EvmHarness([ADMIN_A]).deploy(
        ADMIN_A, load_artifact("CityRegistry"), ("address", administration),
        ("bytes32[]", names), ("address[]", addresses),
    )
    assert result.contract_address is None
    assert decode_revert_reason(result.return_data) == reason


def test_anyone_reads_it(city: City) -> None:
    assert city.registry.call("addressOf", name32("TrustList")) == city.trust_list.address
    assert city.registry.call("addressOf", name32("Nope")) == ZERO
    assert city.registry.call("names") == (name32("TrustList"),)


def test_set_address_repoints_and_emits(city: City) -> None:
    result = ok(govern(city, city.registry, "setAddress", name32("TrustList"), NEWCOMER.address))
    assert events_of(city.registry, result) == [
        ("AddressSet", {"name": name32("TrustList"), "previousAddress": city.trust_list.address,
                        "newAddress": NEWCOMER.address})
    ]
    assert city.registry.call("addressOf", name32("TrustList")) == NEWCOMER.address
    assert city.registry.call("names") == (name32("TrustList"),)


def test_remove_name_and_emit(city: City) -> None:
    ok(govern(city, city.registry, "setAddress", name32("Other"), NEWCOMER.address))
    result = ok(govern(city, city.registry, "removeName", name32("TrustList")))
    assert events_of(city.registry, result) == [
        ("NameRemoved", {"name": name32("TrustList"), "previousAddress": city.trust_list.address})
    ]
    assert city.registry.call("addressOf", name32("TrustList")) == ZERO
    assert city.registry.call("names") == (name32("Other"),)


@pytest.mark.parametrize(
    ("function", "args", "reason"),
    [
        ("setAddress", (b"\0" * 32, NEWCOMER.address), "CityRegistry: empty name"),
        ("setAddress", (name32("X"), ZERO), "CityRegistry: zero address"),
        ("setAddress", (name32("TrustList"), None), "CityRegistry: address unchanged"),
        ("removeName", (name32("Nope"),), "CityRegistry: unknown name"),
    ],
)
def test_bad_changes_are_refused(city: City, function: str, args, reason: str) -> None:
    args = tuple(city.trust_list.address if a is None else a for a in args)
    assert_reverted(govern(city, city.registry, function, *args), reason)


@pytest.mark.parametrize("caller", [ADMIN_A, DEPT_ADMIN, OUTSIDER], ids=lambda a: a.label)
@pytest.mark.parametrize(
    ("function", "args"),
    [("setAddress", (name32("X"), NEWCOMER.address)), ("removeName", (name32("TrustList"),))],
)
def test_only_the_administration_changes_entries(city: City, caller, function: str, args) -> None:
    # A city admin account acting alone is not the administration.
    assert_reverted(city.registry.transact(caller, function, *args), NOT_ADMINISTRATION)
