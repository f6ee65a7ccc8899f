"""Which language messages are said in: `Accept-Language` (RFC 9110 §12.5.4), zh-CN or en.

A small parser rather than a library: Babel's `negotiate_locale` matches a list of locales
but does not read the header (q-values, `*`), and it would bring ~30 MB of locale data for
two languages. Any Chinese tag (zh, zh-CN, zh-Hans, zh-TW…) is zh-CN — the only Chinese the
catalog has — any English tag (en, en-US…) is en; `*` stands for the languages not named.
The highest q wins, the earlier tag on a tie (then the default); q=0 refuses a language.
Without a usable tag: zh-CN for the storefront channels, en for staff (the admin SPA)."""

from __future__ import annotations

from resolvers.common import Language
from resolvers.context import Viewer

# A header is read up to here: hostile ones cost nothing more.
MAX_TAGS = 20


def default_language(viewer: Viewer) -> Language:
    return Language.EN if viewer.is_staff else Language.ZH_CN


def language_of(header: str | None, default: Language) -> Language:
    named: dict[Language, float] = {}  # in the header's order, each at its best q
    star = 0.0  # the q of `*`: every language not named
    for part in (header or "").split(",")[:MAX_TAGS]:
        tag, _, params = part.partition(";")
        tag, quality = tag.strip().lower(), _quality(params)
        language = _language(tag)
        if tag == "*":
            star = max(star, quality)
        elif language is not None:
            named[language] = max(named.get(language, 0.0), quality)

    def quality_of(language: Language) -> float:
        return named.get(language, star)

    # highest q first; on a tie the earlier named, then the default
    order = list(dict.fromkeys([*named, default, *Language]))
    best = max(order, key=lambda language: (quality_of(language), -order.index(language)))
    return best if quality_of(best) > 0 else default


def _language(tag: str) -> Language | None:
    return {"zh": Language.ZH_CN, "en": Language.EN}.get(tag.split("-", 1)[0])


def _quality(params: str) -> float:
    """The tag's q (1 when absent); a malformed one counts as 0: the tag is ignored."""
    for param in params.split(";"):
        name, _, value = param.partition("=")
        if name.strip().lower() == "q":
            try:
                quality = float(value.strip())
            except ValueError:
                return 0.0
            return quality if 0 <= quality <= 1 else 0.0
    return 1.0
