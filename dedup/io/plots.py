"""Matplotlib set up for files, with a CJK font so Chinese labels never render as boxes."""

from __future__ import annotations

from functools import cache
from importlib.util import find_spec
from pathlib import Path

CJK_FAMILIES = ("Noto Sans CJK SC", "Noto Sans CJK JP", "WenQuanYi Micro Hei", "SimHei", "Source Han Sans SC",
                "Microsoft YaHei", "PingFang SC")


@cache
def cjk_font() -> str | None:
    """A font family with Chinese glyphs: an installed one, else the Noto CJK shipped in mplfonts."""
    from matplotlib import font_manager

    names = {f.name for f in font_manager.fontManager.ttflist}
    for family in CJK_FAMILIES:
        if family in names:
            return family
    spec = find_spec("mplfonts")
    if spec and spec.submodule_search_locations:
        font = Path(list(spec.submodule_search_locations)[0]) / "fonts" / "NotoSansCJKsc-Regular.otf"
        if font.exists():
            font_manager.fontManager.addfont(str(font))
            return font_manager.FontProperties(fname=str(font)).get_name()
    return None


def plt_module():
    """pyplot on the Agg backend with the CJK font first in the sans-serif list."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    family = cjk_font()
    if family:
        plt.rcParams["font.sans-serif"] = [family, *plt.rcParams["font.sans-serif"]]
        plt.rcParams["font.family"] = "sans-serif"
    plt.rcParams["axes.unicode_minus"] = False
    return plt


def save_figure(plt, fig, path: Path) -> Path:
    """Lay the figure out, write it as a PNG (110 dpi, its folder made if need be) and free it."""
    fig.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
