#!/usr/bin/env python3
"""Checks that a screenshot of a timeline page shows a picture, not a blank page.

    png_check.py SHOT.png FAILURE_X

Decodes the PNG with the standard library only (8-bit RGB or RGBA, not interlaced, as
Chromium writes them) and checks that:
  - it is not blank: many colours, and no single colour covers 90 % of it;
  - lanes were drawn: there are pixels of the follower and leader colours;
  - the failure mark is visible: a column of the failure's red at x = FAILURE_X (CSS pixels,
    device scale 1), at least 150 pixels tall.
Prints what it measured; exits 1 with the reason if a check fails.
"""
import struct
import sys
import zlib
from collections import Counter


def decode(path):
    data = open(path, "rb").read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        sys.exit(f"{path}: not a PNG")
    pos, idat, header = 8, b"", None
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    width, height, depth, colour, _, _, interlace = header
    if depth != 8 or colour not in (2, 6) or interlace:
        sys.exit(f"{path}: unsupported PNG (depth {depth}, colour type {colour})")
    channels = 3 if colour == 2 else 4
    raw = zlib.decompress(idat)
    stride = width * channels
    rows, previous = [], bytearray(stride)
    for y in range(height):
        start = y * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1:start + 1 + stride])
        unfilter(kind, line, previous, channels)
        rows.append(line)
        previous = line
    pixels = [[tuple(row[x * channels:x * channels + 3]) for x in range(width)] for row in rows]
    return width, height, pixels


def unfilter(kind, line, previous, bpp):
    """PNG filters (PNG spec, section 9), undone in place."""
    for i in range(len(line)):
        left = line[i - bpp] if i >= bpp else 0
        up = previous[i]
        up_left = previous[i - bpp] if i >= bpp else 0
        if kind == 1:
            line[i] = (line[i] + left) & 0xFF
        elif kind == 2:
            line[i] = (line[i] + up) & 0xFF
        elif kind == 3:
            line[i] = (line[i] + (left + up) // 2) & 0xFF
        elif kind == 4:
            p = left + up - up_left
            pa, pb, pc = abs(p - left), abs(p - up), abs(p - up_left)
            predictor = left if pa <= pb and pa <= pc else (up if pb <= pc else up_left)
            line[i] = (line[i] + predictor) & 0xFF


def near(colour, wanted, slack=12):
    return all(abs(a - b) <= slack for a, b in zip(colour, wanted))


def main():
    path, failure_x = sys.argv[1], float(sys.argv[2])
    width, height, pixels = decode(path)
    counts = Counter(c for row in pixels for c in row)
    total = width * height
    common, common_count = counts.most_common(1)[0]
    print(f"{path}: {width}x{height}, {len(counts)} colours, "
          f"most common {common} on {100 * common_count / total:.1f} %")
    problems = []
    if len(counts) < 50 or common_count > 0.9 * total:
        problems.append("the screenshot is (almost) blank")
    followers = sum(n for c, n in counts.items() if near(c, (0xC9, 0xD4, 0xE2)) or near(c, (0xAF, 0xBF, 0xD3)))
    leaders = sum(n for c, n in counts.items() if near(c, (0x3F, 0xB9, 0x50)) or near(c, (0x23, 0x86, 0x36)))
    print(f"follower pixels {followers}, leader pixels {leaders}")
    if followers < 2000 or leaders < 200:
        problems.append("no lanes: too few follower or leader pixels")
    x0 = int(round(failure_x))
    red = (0xD6, 0x27, 0x28)
    column = [y for y in range(height)
              if any(near(pixels[y][x], red, 30) for x in range(max(0, x0 - 3), min(width, x0 + 4)))]
    print(f"failure red at x={x0}: {len(column)} rows")
    if len(column) < 150:
        problems.append(f"the failure mark is not visible at x={x0}")
    for problem in problems:
        print(f"FAIL: {problem}")
    sys.exit(1 if problems else 0)


main()
