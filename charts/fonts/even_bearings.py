"""Gives every glyph of a font the same left side bearing, keeping its right side bearing.

plotters' ab_glyph text drawing (0.3.7) places each glyph's ink at the pen position, ignoring
the left side bearing, so glyphs with a wide one ("1", "R", "U") sit too far left and leave a gap
after them. With one bearing for all, that drawing is exact for this font. Run by hand (README).
"""
import statistics
import sys

from fontTools.ttLib import TTFont

src, dst = sys.argv[1], sys.argv[2]
font = TTFont(src)
glyf, hmtx = font["glyf"], font["hmtx"]
names = [n for n in font.getGlyphOrder() if glyf[n].numberOfContours != 0]
for n in names:
    glyf[n].recalcBounds(glyf)
bearing = round(statistics.median(glyf[n].xMin for n in names))
simple = [n for n in names if not glyf[n].isComposite()]
composite = [n for n in names if glyf[n].isComposite()]
for n in simple + composite:  # components move with their base glyphs first
    g = glyf[n]
    g.recalcBounds(glyf)
    shift = bearing - g.xMin
    if g.isComposite():
        for c in g.components:
            c.x += shift
    else:
        g.coordinates.translate((shift, 0))
    g.recalcBounds(glyf)
    advance, _ = hmtx[n]
    hmtx[n] = (advance + shift, g.xMin)
if "kern" in font:  # pairs were tuned for the old bearings
    del font["kern"]
font.save(dst)
print(f"left side bearing {bearing} units for {len(names)} glyphs")
