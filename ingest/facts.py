"""Facts a sentence states, found cheaply at ingest: dates, quantities, people, places, organisations.

The kinds a unit contains are stored with it, so the retriever can prefer, among
equally good sentences, the one that has the kind of fact a question asks for
(いつ -> a date, 何人 -> a number of people) without analysing sentences at query time.
"""

from __future__ import annotations

import re

# Counters a number can carry: 3発, 190か国, 2,800人. Public: a question's 何発 names one too.
COUNTERS = ("か国|カ国|ヶ国|箇国|つ|発|人|回|基|隻|機|個|件|種類|種|割|倍|パーセント|%|％|年間|カ月|か月|ヶ月|"
             "日間|時間|トン|キロメートル|キロ|km|メートル|円|ドル|名|歳|位|頭|本|枚|冊|台|社|票|議席|点|万|億|兆")

_DIGIT = "0-9０-９"
DATE = re.compile(
    rf"(?:(?:明治|大正|昭和|平成|令和)[{_DIGIT}元一二三四五六七八九十]{{1,3}}|[{_DIGIT}]{{4}}|(?<![{_DIGIT}])"
    rf"[{_DIGIT}]{{1,3}}(?=年[{_DIGIT}]))年(?!間)(?:度|代)?"
    rf"(?:[{_DIGIT}]{{1,2}}月(?:[{_DIGIT}]{{1,2}}日)?)?(?:[上中下]旬|初め|初頭|末|頃)?"
    rf"|[{_DIGIT}]{{1,2}}月(?:[{_DIGIT}]{{1,2}}日)?(?:[上中下]旬|初め|末|頃)?"
    rf"|[{_DIGIT}]{{1,2}}世紀(?:[前後]半|初頭|末)?")
QUANTITY = re.compile(
    rf"(?:約|およそ|計|合計|最大|最低)?(?:[{_DIGIT}][{_DIGIT},，.．]*(?:[万億兆千][{_DIGIT},，.．]*)*"
    rf"|[一二三四五六七八九十百千]+)(?P<counter>{COUNTERS}|(?:立方|平方)?[ァ-ヺー]{{2,6}})")


def fact_kinds(text: str, parts_of_speech: list[str]) -> set[str]:
    """Kinds of facts in a unit: date, quantity[:counter], person, place, organisation.

    ``parts_of_speech`` are the unit's UniDic POS strings (名詞-固有名詞-人名-姓 …).
    """
    kinds: set[str] = set()
    if DATE.search(text):
        kinds.add("date")
    for m in QUANTITY.finditer(text):
        kinds.add("quantity")
        kinds.add("quantity:" + m["counter"])
    for pos in parts_of_speech:
        if pos.startswith("名詞-固有名詞"):
            if "人名" in pos:
                kinds.add("person")
            elif "地名" in pos:
                kinds.add("place")
            elif "組織" in pos:
                kinds.add("organisation")
    return kinds
