#!/usr/bin/env python3
"""Writes a Character Card PNG with Pillow's PngInfo: a card made by a program other than Kotodama's own
PNG writer, so that the import test checks our reader against an independent encoder.

Usage: python3 tools/cards/make_card_png.py crates/kotodama/tests/fixtures/pillow_card.png
Needs: pip install pillow
"""
import base64
import json
import sys

from PIL import Image, PngImagePlugin

DATA = {
    "name": "Sensei Kiri",
    "description": "Kiri runs the lantern dojo on the mountain road. She is terse and exacting.",
    "personality": "Stern, dry, secretly proud of her students.",
    "scenario": "{{user}} is a new student who arrived before dawn.",
    "first_mes": "(without turning) You are late. Pick up the bokken.",
    "mes_example": "<START>\n{{user}}: Good morning!\n{{char}}: Morning is for people who are already warmed up.",
    "creator_notes": "Original test character for Kotodama's card import.",
    "system_prompt": "",
    "post_history_instructions": "",
    "alternate_greetings": ["Again? Good. Again."],
    "tags": ["mentor", "original"],
    "creator": "kotodama-tests",
    "character_version": "1.0",
    "character_book": {
        "name": "Lantern dojo",
        "entries": [
            {"keys": ["bokken"], "content": "The dojo's bokken are oak, older than the students.", "enabled": True,
             "insertion_order": 0, "extensions": {}},
            {"keys": ["lantern", "lanterns"], "content": "Lanterns go out at the hour of the ox.", "enabled": True,
             "insertion_order": 1, "extensions": {}},
        ],
    },
    "extensions": {"depth_prompt": {"depth": 4, "prompt": "Kiri never raises her voice."}, "talkativeness": "0.4"},
}


def encoded(spec, version):
    card = {"spec": spec, "spec_version": version, "data": DATA}
    return base64.b64encode(json.dumps(card, ensure_ascii=False).encode("utf-8")).decode("ascii")


def main(out_path):
    image = Image.new("RGB", (32, 32))
    image.putdata([(x * 8, y * 8, 160) for y in range(32) for x in range(32)])
    info = PngImagePlugin.PngInfo()
    info.add_text("chara", encoded("chara_card_v2", "2.0"))
    info.add_text("ccv3", encoded("chara_card_v3", "3.0"))
    image.save(out_path, pnginfo=info)


if __name__ == "__main__":
    main(sys.argv[1])
