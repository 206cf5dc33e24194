"""MutualRecognition: department B accepts (issuer A, type T) in a window, until withdrawn."""

from __future__ import annotations

import pytest
from trust_city import (
    ADMIN_A,
    DEPT_ADMIN,
    DEPT_OPERATOR,
    OTHER_DEPT_ADMIN,
    OUTSIDER,
    PLATFORM_OPERATOR,
    USCI_A,
    USCI_B,
    City,
    assert_reverted,
    block_time,
    deploy_city,
    events_of,
    govern,
    ok,
)

LICENSE = b"business-license".ljust(32, b"\0")
OTHER_LICENSE = b"food-permit".ljust(32, b"\0")
FROM, UNTIL = 1_000, 2_000
NOT_DEPARTMENT = "MutualRecognition: caller is not a department account"


@pytest.fixture
def city() -> City:
    city = deploy_city()
    # Department B (the verifier) accepts Department A's business licenses.
    ok(city.recognition.transact(OTHER_DEPT_ADMIN, "recognize", USCI_A, LICENSE, FROM, UNTIL))
    return city


def test_recognize_declares_and_emits(city: City) -> None:
    m = city.recognition
    result = ok(m.transact(DEPT_OPERATOR, "recognize", USCI_B, OTHER_LICENSE, 5, 50))
    assert events_of(m, result) == [
        ("Recognized", {"verifier": USCI_A, "issuer": USCI_B, "licenseType": OTHER_LICENSE,
                        "validFrom": 5, "validUntil": 50, "by": DEPT_OPERATOR.address})
    ]
    assert m.call("recognitionOf", USCI_A, USCI_B, OTHER_LICENSE) == (5, 50, 0)
    assert m.call("recognitionsOf", USCI_A) == ((USCI_B,), (OTHER_LICENSE,))
    assert m.call("recognitionsOf", USCI_B) == ((USCI_A,), (LICENSE,))


@pytest.mark.parametrize(
    ("time", "recognized"),
    [(FROM - 1, False), (FROM, True), (UNTIL - 1, True), (UNTIL, False)],
)
def test_recognition_window(city: City, time: int, recognized: bool) -> None:
    m = city.recognition
    assert m.call("isRecognized", USCI_B, USCI_A, LICENSE, time) is recognized
    # Recognition is directed and per type.
    assert m.call("isRecognized", USCI_A, USCI_B, LICENSE, time) is False
    assert m.call("isRecognized", USCI_B, USCI_A, OTHER_LICENSE, time) is False


def test_withdraw_ends_recognition_from_now_on(city: City) -> None:
    m = city.recognition
    ok(m.transact(OTHER_DEPT_ADMIN, "recognize", USCI_A, LICENSE, FROM, 2**63))
    result = ok(m.transact(OTHER_DEPT_ADMIN, "withdraw", USCI_A, LICENSE))
    now = block_time(city)
    assert events_of(m, result) == [
        ("RecognitionWithdrawn", {"verifier": USCI_B, "issuer": USCI_A, "licenseType": LICENSE,
                                  "withdrawnAt": now, "by": OTHER_DEPT_ADMIN.address})
    ]
    assert m.call("isRecognized", USCI_B, USCI_A, LICENSE, now - 1)
    assert not m.call("isRecognized", USCI_B, USCI_A, LICENSE, now)
    assert m.call("recognitionOf", USCI_B, USCI_A, LICENSE) == (FROM, 2**63, now)
    assert_reverted(
        m.transact(OTHER_DEPT_ADMIN, "withdraw", USCI_A, LICENSE),
        "MutualRecognition: already withdrawn",
    )
    # Declaring again replaces the window and clears the withdrawal; listed once.
    ok(m.transact(OTHER_DEPT_ADMIN, "recognize", USCI_A, LICENSE, 1, 2**63))
    assert m.call("isRecognized", USCI_B, USCI_A, LICENSE, now + 10)
    assert m.call("recognitionsOf", USCI_B) == ((USCI_A,), (LICENSE,))


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        ((b"91350100M000100Y44", LICENSE, FROM, UNTIL),
         "MutualRecognition: issuer is not an active department"),
        ((USCI_A, b"\0" * 32, FROM, UNTIL), "MutualRecognition: zero license type"),
        ((USCI_A, LICENSE, UNTIL, UNTIL), "MutualRecognition: validity window is empty"),
        ((USCI_A, LICENSE, UNTIL, FROM), "MutualRecognition: validity window is empty"),
    ],
)
def test_bad_recognitions_are_refused(city: City, args, reason: str) -> None:
    assert_reverted(city.recognition.transact(OTHER_DEPT_ADMIN, "recognize", *args), reason)


def test_a_removed_issuer_cannot_be_newly_recognized(city: City) -> None:
    ok(govern(city, city.departments, "remove", USCI_A))
    assert_reverted(
        city.recognition.transact(OTHER_DEPT_ADMIN, "recognize", USCI_A, OTHER_LICENSE, 1, 2),
        "MutualRecognition: issuer is not an active department",
    )


def test_withdrawing_what_was_never_declared_is_refused(city: City) -> None:
    assert_reverted(
        city.recognition.transact(DEPT_ADMIN, "withdraw", USCI_B, LICENSE),
        "MutualRecognition: not recognized",
    )


@pytest.mark.parametrize("caller", [OUTSIDER, ADMIN_A, PLATFORM_OPERATOR], ids=lambda a: a.label)
@pytest.mark.parametrize(
    ("function", "args"),
    [("recognize", (USCI_A, LICENSE, FROM, UNTIL)), ("withdraw", (USCI_A, LICENSE))],
)
def test_only_department_accounts_declare(city: City, caller, function, args) -> None:
    assert_reverted(city.recognition.transact(caller, function, *args), NOT_DEPARTMENT)


def test_one_department_cannot_withdraw_anothers_recognition(city: City) -> None:
    # DEPT_ADMIN acts for Department A, which declared nothing about itself.
    assert_reverted(
        city.recognition.transact(DEPT_ADMIN, "withdraw", USCI_A, LICENSE),
        "MutualRecognition: not recognized",
    )
    assert city.recognition.call("isRecognized", USCI_B, USCI_A, LICENSE, FROM)
