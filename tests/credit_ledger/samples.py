"""Shared sample values for the credit ledger tests: identifiers, keys, valid content.

Plain constants and small builders, no fixtures: every test reads as a table of inputs
and expected values.
"""

from __future__ import annotations

from typing import Any

from nacl.signing import SigningKey

from anchoring.checkpoint import Checkpoint
from anchoring.merkle import build_inclusion_proof, leaf_hash, root_from_leaf_hashes
from anchoring.note import Ed25519Signer, sign_note
from credit_ledger.records import CreditRecord, build_record, record_entry
from license_registry.keys import public_key_of

ENTERPRISE = "91350100M000100Y43"  # the subject and grantor
BANK = "91110000600037341L"  # the grantee
OTHER_BANK = "91310000100000002D"
DEPARTMENT = "11110000000000001R"  # e.g. the market regulator
OTHER_DEPARTMENT = "11310000000000002A"

ENTERPRISE_SEED = bytes(range(32))
ENTERPRISE_KEY = public_key_of(ENTERPRISE_SEED)
ENTERPRISE_METHOD = f"did:citychain:{ENTERPRISE}#0102030405060708"
PLATFORM_SEED = bytes(range(32, 64))
PLATFORM_KEY = public_key_of(PLATFORM_SEED)
PLATFORM_METHOD = "did:citychain:platform#a1b2c3d4e5f60718"
LOG_ORIGIN = "log.citychain.test/credit"
LOG_SIGNER = Ed25519Signer(LOG_ORIGIN, SigningKey(bytes(range(64, 96))))
OTHER_SIGNER = Ed25519Signer(LOG_ORIGIN, SigningKey(bytes(range(96, 128))))

T0 = 1_735_689_600  # 2025-01-01T00:00:00Z
DAY = 86_400

CONTENT: dict[str, dict[str, Any]] = {
    "CR-LIC": {"licenseNumber": "FBL-2025-0001", "licenseName": "食品经营许可证",
               "issuingAuthority": "市市场监督管理局", "decisionDate": "2025-01-02",
               "licenseStatus": "VALID"},
    "CR-PEN": {"decisionNumber": "市监罚〔2025〕12号", "violation": "未按规定公示年度报告",
               "legalBasis": "《企业信息公示暂行条例》第十八条", "penaltyKind": "FINE",
               "fineAmount": "50000.00", "decisionDate": "2025-02-03", "status": "OPEN"},
    "CR-COM": {"title": "守合同重信用企业", "awardingAuthority": "市人民政府",
               "level": "MUNICIPAL", "awardDate": "2024-12-01"},
    "CR-RAT": {"grade": "A", "ratingAgency": "某信用评级有限公司", "ratingDate": "2025-01-15",
               "score": 880},
    "CR-TAX": {"grade": "B", "assessmentYear": 2024, "taxAuthority": "国家税务总局某市税务局"},
    "CR-JUD": {"caseNumber": "(2024)闽01民初123号", "court": "某市中级人民法院",
               "caseType": "COMMERCIAL", "role": "DEFENDANT", "judgmentDate": "2024-11-20",
               "amount": "1200000.00", "outcome": "判决被告支付货款及利息"},
}


def record_id(n: int) -> str:
    return f"urn:uuid:00000000-0000-4000-8000-{n:012d}"


def make_record(n: int, record_type: str, *, content: dict[str, Any] | None = None,
                effective_date: str = "2025-01-10", subject: str = ENTERPRISE) -> CreditRecord:
    return build_record(record_id=record_id(n), subject=subject, record_type=record_type,
                        source_department=DEPARTMENT, effective_date=effective_date,
                        content=CONTENT[record_type] if content is None else content,
                        recorded_at=T0 + n)


def build_log(records: list[CreditRecord], padding: int = 3,
              signer: Ed25519Signer = LOG_SIGNER) -> tuple[bytes, Checkpoint,
                                                          dict[str, tuple[int, list[bytes]]]]:
    """A credit log holding ``padding`` other entries, then ``records``: the signed
    checkpoint note, the checkpoint, and each record's (index, inclusion proof)."""
    leaves = [leaf_hash(b"other entry %d" % i) for i in range(padding)]
    leaves += [leaf_hash(record_entry(r)) for r in records]
    checkpoint = Checkpoint(LOG_ORIGIN, len(leaves), root_from_leaf_hashes(leaves))
    proofs = {r.record_id: (padding + i, build_inclusion_proof(padding + i, leaves))
              for i, r in enumerate(records)}
    return sign_note(checkpoint.body(), [signer]), checkpoint, proofs
