"""QR rendering: alphanumeric mode, error levels, and a PNG that a real decoder reads back."""

from __future__ import annotations

import hashlib
import io
import xml.etree.ElementTree as ElementTree
from typing import Any

import pytest
import zxingcpp
from PIL import Image

from license_registry.city_code import encode_city_code
from license_registry.errors import InvalidInput
from license_registry.keys import calculate_kid, public_key_of
from license_registry.qr import build_qr, render_png, render_svg

SEED = hashlib.sha256(b"citychain qr test key").digest()
CLAIMS: dict[Any, Any] = {
    1: "91350100M000100Y43", 4: 1893456000, 6: 1735689600,
    7: bytes.fromhex("58172aacd8ba11ed83dd0b3aef56cc33"),
    -70001: {1: "CN-BL", 2: "BL-3501-2025-000123", 3: "9135************43", 4: [3, 48213],
             10: "福州闽江食品贸易有限公司", 12: "张*", 13: "福州市鼓楼区五四路 88 号",
             14: "食品销售；餐饮服务"},
}
CODE = encode_city_code(CLAIMS, calculate_kid(public_key_of(SEED)), SEED)


def _read_png(png: bytes) -> list[str]:
    return [barcode.text for barcode in zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))]


@pytest.mark.parametrize("error", ["M", "Q"])
def test_png_decodes_back_to_the_code(error: str) -> None:
    png = render_png(CODE, error=error)
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    assert _read_png(png) == [CODE]


def test_png_scale_sets_the_pixel_size() -> None:
    qr = build_qr(CODE)
    for scale in (2, 4, 6):
        image = Image.open(io.BytesIO(render_png(CODE, scale=scale)))
        assert image.size == ((qr.symbol_size(scale=1, border=4)[0] * scale,) * 2)


def test_symbol_is_alphanumeric_and_small_enough_for_phones() -> None:
    screen, paper = build_qr(CODE), build_qr(CODE, error="Q")
    assert screen.mode == paper.mode == "alphanumeric"
    assert screen.error in ("M", "Q", "H") and paper.error in ("Q", "H")
    assert isinstance(screen.version, int) and isinstance(paper.version, int)  # not Micro QR
    assert screen.version <= 15 and paper.version <= 18
    assert paper.version >= screen.version


def test_svg_is_a_well_formed_document() -> None:
    svg = render_svg(CODE, scale=3)
    root = ElementTree.fromstring(svg)
    assert root.tag.endswith("svg")
    assert not svg.startswith("<?xml")
    side = build_qr(CODE).symbol_size(scale=3, border=4)[0]
    assert (root.get("width"), root.get("height")) == (str(side), str(side))


@pytest.mark.parametrize(("code", "kwargs", "field"), [
    ("cc1:lower case", {}, "code"),
    ("CC1:ÄÖ", {}, "code"),
    ("CC1:{}", {}, "code"),
    ("", {}, "code"),
    (CODE, {"error": "X"}, "error"),
    (CODE, {"error": "m"}, "error"),
    (CODE, {"scale": 0}, "scale"),
    (CODE, {"scale": 2.5}, "scale"),
    ("CC1:" + "0" * 5000, {"error": "H"}, "code"),  # beyond version 40
])
def test_refusals(code: str, kwargs: dict[str, Any], field: str) -> None:
    for render in (render_png, render_svg):
        with pytest.raises(InvalidInput) as info:
            render(code, **kwargs)
        assert info.value.field == field
