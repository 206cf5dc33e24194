"""TrustList: department signing keys (by their accounts), accreditations (by the multisig)."""

from __future__ import annotations

import pytest
from evm_harness import CallReverted
from trust_city import (
    ADMIN_A,
    DEPT_ADMIN,
    DEPT_OPERATOR,
    ISSUER,
    OTHER_DEPT_ADMIN,
    OUTSIDER,
    PLATFORM_OPERATOR,
    USCI_A,
    USCI_B,
    VERIFIER,
    City,
    assert_reverted,
    block_time,
    deploy_city,
    events_of,
    govern,
    ok,
)

ED25519, P256, SECP256K1, SM2 = 1, 2, 3, 4
KID = bytes.fromhex("0102030405060708")
KID2 = bytes.fromhex("1112131415161718")
PUBLIC_KEY = bytes(range(32))
FROM, UNTIL = 1_700_000_000, 1_900_000_000
LICENSE = b"business-license".ljust(32, b"\0")
OTHER_LICENSE = b"food-permit".ljust(32, b"\0")
NOT_DEPARTMENT = "TrustList: caller is not a department account"
NOT_ADMINISTRATION = "TrustList: caller is not the city administration"


@pytest.fixture
def city() -> City:
    city = deploy_city()
    ok(city.trust_list.transact(DEPT_OPERATOR, "addKey", KID, ED25519, PUBLIC_KEY, FROM, UNTIL))
    return city


# ---- Keys ----


def test_add_key_lists_it_for_the_callers_department(city: City) -> None:
    t = city.trust_list
    result = ok(t.transact(DEPT_ADMIN, "addKey", KID2, P256, b"\x04" + b"\x01" * 64, 10, 20))
    assert events_of(t, result) == [
        ("KeyAdded", {"department": USCI_A, "kid": KID2, "algorithm": P256,
                      "publicKey": b"\x04" + b"\x01" * 64, "validFrom": 10, "validUntil": 20,
                      "by": DEPT_ADMIN.address})
    ]
    assert t.call("keysOf", USCI_A) == (KID, KID2)
    assert t.call("getKey", USCI_A, KID2) == (P256, b"\x04" + b"\x01" * 64, 10, 20, 0, 0)
    assert t.call("getKey", USCI_A, KID) == (ED25519, PUBLIC_KEY, FROM, UNTIL, 0, 0)
    assert t.call("keysOf", USCI_B) == ()


def test_the_same_kid_may_be_used_by_another_department(city: City) -> None:
    t = city.trust_list
    ok(t.transact(OTHER_DEPT_ADMIN, "addKey", KID, SM2, b"\x04" * 65, FROM, UNTIL))
    assert t.call("getKey", USCI_B, KID)[0] == SM2
    assert t.call("getKey", USCI_A, KID)[0] == ED25519


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        ((b"\0" * 8, ED25519, PUBLIC_KEY, FROM, UNTIL), "TrustList: zero kid"),
        ((KID2, 0, PUBLIC_KEY, FROM, UNTIL), "TrustList: unknown algorithm"),
        ((KID2, 5, PUBLIC_KEY, FROM, UNTIL), "TrustList: unknown algorithm"),
        ((KID2, SECP256K1, b"", FROM, UNTIL), "TrustList: empty public key"),
        ((KID2, ED25519, PUBLIC_KEY[:31], FROM, UNTIL), "TrustList: Ed25519 key must be 32 bytes"),
        ((KID2, ED25519, PUBLIC_KEY, UNTIL, UNTIL), "TrustList: validity window is empty"),
        ((KID2, ED25519, PUBLIC_KEY, UNTIL, FROM), "TrustList: validity window is empty"),
        ((KID, ED25519, PUBLIC_KEY, FROM, UNTIL), "TrustList: kid already used"),
    ],
)
def test_bad_keys_are_refused(city: City, args, reason: str) -> None:
    assert_reverted(city.trust_list.transact(DEPT_ADMIN, "addKey", *args), reason)


@pytest.mark.parametrize("caller", [OUTSIDER, ADMIN_A, PLATFORM_OPERATOR], ids=lambda a: a.label)
@pytest.mark.parametrize(
    ("function", "args"),
    [("addKey", (KID2, ED25519, PUBLIC_KEY, FROM, UNTIL)), ("revokeKey", (KID, 1, 0))],
)
def test_only_department_accounts_change_keys(city: City, caller, function, args) -> None:
    assert_reverted(city.trust_list.transact(caller, function, *args), NOT_DEPARTMENT)


def test_revoke_key_records_time_and_reason(city: City) -> None:
    t = city.trust_list
    result = ok(t.transact(DEPT_ADMIN, "revokeKey", KID, 1, 0))  # key compromise, now
    now = block_time(city)
    assert events_of(t, result) == [
        ("KeyRevoked", {"department": USCI_A, "kid": KID, "revokedAt": now, "reason": 1,
                        "by": DEPT_ADMIN.address})
    ]
    assert t.call("getKey", USCI_A, KID) == (ED25519, PUBLIC_KEY, FROM, UNTIL, now, 1)
    assert t.call("isKeyValid", USCI_A, KID, now - 1)
    assert not t.call("isKeyValid", USCI_A, KID, now)
    # A kid is never reused: the revoked key cannot be listed again.
    assert_reverted(
        t.transact(DEPT_ADMIN, "addKey", KID, ED25519, PUBLIC_KEY, FROM, UNTIL),
        "TrustList: kid already used",
    )


def test_a_compromised_key_is_revoked_from_the_stated_compromise_time(city: City) -> None:
    """Signatures made after the compromise, before the revocation was recorded, fail too."""
    t = city.trust_list
    compromised = block_time(city) - 3600  # found out an hour late
    result = ok(t.transact(DEPT_OPERATOR, "revokeKey", KID, 1, compromised))
    assert events_of(t, result) == [
        ("KeyRevoked", {"department": USCI_A, "kid": KID, "revokedAt": compromised, "reason": 1,
                        "by": DEPT_OPERATOR.address})
    ]
    assert t.call("getKey", USCI_A, KID) == (ED25519, PUBLIC_KEY, FROM, UNTIL, compromised, 1)
    assert t.call("isKeyValid", USCI_A, KID, compromised - 1)
    assert not t.call("isKeyValid", USCI_A, KID, compromised)
    assert not t.call("isKeyValid", USCI_A, KID, compromised + 1800)  # signed after compromise


def test_a_stated_revocation_time_may_be_now_or_the_start_of_validity(city: City) -> None:
    t = city.trust_list
    ok(t.transact(DEPT_ADMIN, "addKey", KID2, ED25519, PUBLIC_KEY, FROM, UNTIL))
    ok(t.transact(DEPT_ADMIN, "revokeKey", KID, 1, FROM))  # compromised from the start
    assert t.call("getKey", USCI_A, KID)[4] == FROM
    assert not t.call("isKeyValid", USCI_A, KID, FROM)
    now = city.harness.chain.header.timestamp  # the time of the block being built
    ok(t.transact(DEPT_ADMIN, "revokeKey", KID2, 4, now))
    assert t.call("getKey", USCI_A, KID2)[4] == now == block_time(city)


def test_revoking_a_key_before_its_window_opens_makes_it_never_valid(city: City) -> None:
    t = city.trust_list
    later = block_time(city) + 86_400
    ok(t.transact(DEPT_ADMIN, "addKey", KID2, ED25519, PUBLIC_KEY, later, later + 3600))
    ok(t.transact(DEPT_ADMIN, "revokeKey", KID2, 4, 0))  # 0: now, before validFrom
    assert t.call("getKey", USCI_A, KID2)[4] == block_time(city)
    assert not any(t.call("isKeyValid", USCI_A, KID2, time) for time in (later, later + 3599))


@pytest.mark.parametrize(
    ("caller", "kid", "reason", "message"),
    [
        (DEPT_ADMIN, KID2, 0, "TrustList: unknown key"),
        (OTHER_DEPT_ADMIN, KID, 0, "TrustList: unknown key"),  # another department's key
        (DEPT_ADMIN, KID, 7, "TrustList: unknown revocation reason"),
        (DEPT_ADMIN, KID, 11, "TrustList: unknown revocation reason"),
    ],
)
def test_bad_revocations_are_refused(city: City, caller, kid, reason, message) -> None:
    assert_reverted(city.trust_list.transact(caller, "revokeKey", kid, reason, 0), message)


@pytest.mark.parametrize(
    ("offset", "message"),
    [
        (3600, "TrustList: revocation time is in the future"),
        (10**6, "TrustList: revocation time is in the future"),
        (None, "TrustList: revocation time before the key's validity"),
    ],
)
def test_revocation_times_outside_now_and_validity_are_refused(city: City, offset, message) -> None:
    revoked_at = FROM - 1 if offset is None else block_time(city) + offset
    assert_reverted(city.trust_list.transact(DEPT_ADMIN, "revokeKey", KID, 1, revoked_at), message)
    assert_reverted(govern(city, city.trust_list, "revokeKeyOf", USCI_A, KID, 1, revoked_at), message)
    assert city.trust_list.call("getKey", USCI_A, KID)[4] == 0


def test_a_key_is_revoked_once(city: City) -> None:
    ok(city.trust_list.transact(DEPT_OPERATOR, "revokeKey", KID, 4, 0))
    assert_reverted(
        city.trust_list.transact(DEPT_ADMIN, "revokeKey", KID, 4, 0),
        "TrustList: key already revoked",
    )
    # A later, earlier-dated revocation does not move the recorded time either.
    assert_reverted(
        city.trust_list.transact(DEPT_ADMIN, "revokeKey", KID, 1, FROM),
        "TrustList: key already revoked",
    )


def test_administration_revokes_a_key_of_a_removed_department(city: City) -> None:
    t = city.trust_list
    ok(govern(city, city.departments, "remove", USCI_A))
    assert_reverted(t.transact(DEPT_ADMIN, "revokeKey", KID, 5, 0), NOT_DEPARTMENT)
    result = ok(govern(city, t, "revokeKeyOf", USCI_A, KID, 5, 0))
    assert events_of(t, result) == [
        ("KeyRevoked", {"department": USCI_A, "kid": KID, "revokedAt": block_time(city),
                        "reason": 5, "by": city.administration.address})
    ]


def test_administration_revokes_from_a_stated_compromise_time(city: City) -> None:
    t = city.trust_list
    compromised = block_time(city) - 60
    result = ok(govern(city, t, "revokeKeyOf", USCI_A, KID, 1, compromised))
    assert events_of(t, result) == [
        ("KeyRevoked", {"department": USCI_A, "kid": KID, "revokedAt": compromised,
                        "reason": 1, "by": city.administration.address})
    ]
    assert t.call("getKey", USCI_A, KID)[4:] == (compromised, 1)


@pytest.mark.parametrize("caller", [ADMIN_A, DEPT_ADMIN, OUTSIDER], ids=lambda a: a.label)
def test_only_the_administration_revokes_other_departments_keys(city: City, caller) -> None:
    assert_reverted(
        city.trust_list.transact(caller, "revokeKeyOf", USCI_A, KID, 1, 0), NOT_ADMINISTRATION
    )


@pytest.mark.parametrize(
    ("time", "valid"),
    [(FROM - 1, False), (FROM, True), (UNTIL - 1, True), (UNTIL, False)],
)
def test_key_validity_window(city: City, time: int, valid: bool) -> None:
    assert city.trust_list.call("isKeyValid", USCI_A, KID, time) is valid
    assert city.trust_list.call("isKeyValid", USCI_A, KID2, time) is False


def test_get_key_of_an_unknown_kid_reverts(city: City) -> None:
    with pytest.raises(CallReverted, match="TrustList: unknown key"):
        city.trust_list.call("getKey", USCI_A, KID2)


def test_a_removed_departments_accounts_cannot_add_keys(city: City) -> None:
    ok(govern(city, city.departments, "remove", USCI_A))
    assert_reverted(
        city.trust_list.transact(DEPT_OPERATOR, "addKey", KID2, ED25519, PUBLIC_KEY, FROM, UNTIL),
        NOT_DEPARTMENT,
    )


# ---- Accreditations ----


def test_grant_and_withdraw_accreditation(city: City) -> None:
    t = city.trust_list
    granted = ok(govern(city, t, "grantAccreditation", USCI_A, LICENSE))
    assert events_of(t, granted) == [
        ("AccreditationGranted", {"department": USCI_A, "licenseType": LICENSE})
    ]
    ok(govern(city, t, "grantAccreditation", USCI_A, OTHER_LICENSE))
    assert t.call("isAccredited", USCI_A, LICENSE)
    assert not t.call("isAccredited", USCI_B, LICENSE)
    assert t.call("accreditationsOf", USCI_A) == (LICENSE, OTHER_LICENSE)
    withdrawn = ok(govern(city, t, "withdrawAccreditation", USCI_A, LICENSE))
    assert events_of(t, withdrawn) == [
        ("AccreditationWithdrawn", {"department": USCI_A, "licenseType": LICENSE})
    ]
    assert not t.call("isAccredited", USCI_A, LICENSE)
    assert t.call("accreditationsOf", USCI_A) == (OTHER_LICENSE,)


def test_accreditation_lapses_with_the_department(city: City) -> None:
    ok(govern(city, city.trust_list, "grantAccreditation", USCI_A, LICENSE))
    ok(govern(city, city.departments, "remove", USCI_A))
    assert not city.trust_list.call("isAccredited", USCI_A, LICENSE)


@pytest.mark.parametrize(
    ("function", "usci", "license_type", "reason"),
    [
        ("grantAccreditation", USCI_A, b"\0" * 32, "TrustList: zero license type"),
        ("grantAccreditation", b"91350100M000100Y44", LICENSE,
         "TrustList: department is not an active issuer"),
        ("grantAccreditation", USCI_A, OTHER_LICENSE, "TrustList: already accredited"),
        ("withdrawAccreditation", USCI_A, LICENSE, "TrustList: not accredited"),
    ],
)
def test_bad_accreditation_changes_are_refused(city: City, function, usci, license_type,
                                               reason) -> None:
    ok(govern(city, city.trust_list, "grantAccreditation", USCI_A, OTHER_LICENSE))
    assert_reverted(govern(city, city.trust_list, function, usci, license_type), reason)


def test_only_issuers_are_accredited(city: City) -> None:
    ok(govern(city, city.departments, "setRoles", USCI_B, VERIFIER))
    assert_reverted(
        govern(city, city.trust_list, "grantAccreditation", USCI_B, LICENSE),
        "TrustList: department is not an active issuer",
    )
    ok(govern(city, city.departments, "setRoles", USCI_B, VERIFIER | ISSUER))
    ok(govern(city, city.trust_list, "grantAccreditation", USCI_B, LICENSE))


@pytest.mark.parametrize("caller", [ADMIN_A, DEPT_ADMIN, OUTSIDER], ids=lambda a: a.label)
@pytest.mark.parametrize("function", ["grantAccreditation", "withdrawAccreditation"])
def test_only_the_administration_accredits(city: City, caller, function) -> None:
    assert_reverted(city.trust_list.transact(caller, function, USCI_A, LICENSE), NOT_ADMINISTRATION)


def test_constants_and_wiring(city: City) -> None:
    t = city.trust_list
    assert [t.call(f"ALG_{n}") for n in ("ED25519", "ECDSA_P256", "ECDSA_SECP256K1", "SM2")] == [
        1, 2, 3, 4
    ]
    assert t.call("administration") == city.administration.address
    assert t.call("departments") == city.departments.address
