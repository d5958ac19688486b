"""Which language a question is asked in: ja, en, mixed or other.

A script count is enough for this job and costs microseconds: kana or kanji
make a question Japanese, Latin letters alone make it English, and English
function words around Japanese terms make it mixed ("What is 戦略的敗北?"); a function word
counts only as English writes one (lower case or capitalised, two letters or more), so a
letter or an acronym inside Japanese is a name, not a word: 附則Aとして, ATは何の転換行列か,
ITの発展 stay Japanese.
Hangul, Cyrillic, Arabic … give "other", which is answered like "mixed".
"""

from __future__ import annotations

import re

_EN_WORDS = frozenset([
    "a", "an", "the", "of", "in", "on", "at", "to", "for", "by", "with", "from", "about", "is", "are", "was",
    "were", "be", "been", "does", "do", "did", "has", "have", "had", "what", "who", "whom", "whose", "when",
    "where", "why", "how", "which", "will", "would", "can", "could", "should", "this", "that", "these", "those",
    "it", "its", "and", "or", "not",
])
_WORD = re.compile(r"[A-Za-z]+")


def detect_language(text: str) -> str:
    kana = kanji = latin = other = 0
    for ch in text:
        o = ord(ch)
        if 0x3040 <= o <= 0x30FF or 0xFF66 <= o <= 0xFF9F:
            kana += 1
        elif 0x4E00 <= o <= 0x9FFF or 0x3400 <= o <= 0x4DBF:
            kanji += 1
        elif ch.isascii() and ch.isalpha():
            latin += 1
        elif ch.isalpha():
            other += 1
    # "A" and "AT" are "a" and "at" only when English writes them so: not one capital letter or
    # an acronym (血液型はA型かB型か, ATは何の転換行列か are Japanese; "What is a 戦略的敗北?" is not).
    english = any(w.lower() in _EN_WORDS for w in _WORD.findall(text) if len(w) > 1 and not w.isupper())
    if kana or kanji:
        if english and latin > (kana + kanji):
            return "mixed"
        if kana == 0 and other == 0 and not english and latin == 0 and kanji >= 1:
            return "ja"  # all-kanji (Japanese or Chinese): the corpus is Japanese
        if other > kana + kanji:
            return "other"
        return "mixed" if english else "ja"
    if other > latin:
        return "other"
    return "en" if latin else "other"
