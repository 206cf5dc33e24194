"""Sample license requests (valid by the catalogue's rules)."""

from __future__ import annotations

import itertools
import time
from typing import Any

_numbers = itertools.count(1)

SUBJECTS: dict[str, tuple[str, str, dict[str, Any]]] = {
    "CN-BL": ("USCI", "91110000600037341L", {
        "enterpriseName": "武汉光谷数据科技有限公司", "legalRepresentative": "张三",
        "registeredCapital": "1000万元", "businessScope": "数据处理和存储服务",
        "address": "武汉市东湖新技术开发区高新大道1号"}),
    "CN-FBL": ("USCI", "91110000600037341L", {
        "enterpriseName": "江城餐饮管理有限公司", "operatorCategory": "CATERING",
        "businessScope": "热食类食品制售", "premises": "武汉市江汉区解放大道2号"}),
    "CN-PQC": ("CITIZEN_ID", "11010519491231002X", {
        "holderName": "李四", "qualification": "高级工程师", "specialty": "土木工程",
        "level": "SENIOR"}),
    "CN-DL": ("CITIZEN_ID", "11010519491231002X", {
        "holderName": "王五", "vehicleClasses": ["C1"], "firstIssued": "2010-05-01"}),
    "CN-CP": ("USCI", "91110000600037341L", {
        "projectName": "长江新城安置房一期", "builder": "武汉城建集团",
        "location": "武汉市江岸区", "contractAmount": "3500万元"}),
}


def license_body(license_type: str = "CN-BL", *, valid_from: int | None = None,
                 valid_until: int | None = None, number: str | None = None) -> dict[str, Any]:
    now = int(time.time())
    id_type, holder, subject = SUBJECTS[license_type]
    return {
        "licenseType": license_type,
        "licenseNumber": number or f"T{license_type[3:]}-{int(time.time() * 1000)}-{next(_numbers)}",
        "holder": {"idType": id_type, "id": holder},
        "subject": subject,
        "validFrom": now - 60 if valid_from is None else valid_from,
        "validUntil": now + 365 * 86400 if valid_until is None else valid_until,
    }
