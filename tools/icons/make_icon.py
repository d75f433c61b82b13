"""Draws assets/icons/icon.png (the app icon: a speech bubble on a rounded gradient square) as a plain RGBA PNG.

Run from the repository root: python3 tools/icons/make_icon.py
"""
import struct
import zlib

N = 256
RADIUS = 48


def pixel(x, y):
    dx = max(RADIUS - x, 0, x - (N - 1 - RADIUS))
    dy = max(RADIUS - y, 0, y - (N - 1 - RADIUS))
    if dx * dx + dy * dy > RADIUS * RADIUS:
        return (0, 0, 0, 0)
    t = y / N
    base = (int(200 - 60 * t), int(70 + 20 * t), int(110 + 80 * t))
    cx, cy = N / 2, N / 2 - 12
    bubble = ((x - cx) / 88) ** 2 + ((y - cy) / 64) ** 2 <= 1
    tail = 150 <= y <= 200 and 80 <= x <= 120 and (x - 80) >= (y - 150) * 0.8
    if not (bubble or tail):
        return base + (255,)
    for k in (-40, 0, 40):
        if (x - (cx + k)) ** 2 + (y - cy) ** 2 <= 12 ** 2:
            return base + (255,)
    return (255, 246, 240, 255)


def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


rows = b"".join(b"\x00" + b"".join(bytes(pixel(x, y)) for x in range(N)) for y in range(N))
png = (
    b"\x89PNG\r\n\x1a\n"
    + chunk(b"IHDR", struct.pack(">IIBBBBB", N, N, 8, 6, 0, 0, 0))
    + chunk(b"IDAT", zlib.compress(rows, 9))
    + chunk(b"IEND", b"")
)
with open("assets/icons/icon.png", "wb") as f:
    f.write(png)
