"""What an extra stemming rule joins and what it splits, measured on real English words.

    python benchmarks/stemming_rules.py [--top 50000] [--show 40] [--snowball]

The rule measured is the "-ition" fold that newssearch once added after
Porter2 (a word ending in "ition(s)" whose Porter2 stem ends in "it" and has
at least 6 letters loses that "it": "recognition" -> "recogn", to meet
"recognize"). For the ``--top`` most frequent English words of ``wordfreq``:

* *changed*: the words whose stem the rule changes;
* *joined*: pairs (changed word, other word) that share a stem only with the
  rule: what the rule makes a query for one find;
* *split*: pairs that shared a Porter2 stem and no longer do: what a query
  stops finding ("tradition" and "traditional").

Pairs are listed with the smaller word frequency of the two, the most
frequent first. Whether two words are related is a person's judgment:
:data:`UNRELATED` records it for the words this rule meets (on the
50,000-word list). The summary counts pairs, and weighs each pair (a, b) by
``f(a) * f(b) * 2`` (frequencies per million words): a one-word query for a
is asked in proportion to f(a) and newly finds (or loses) text in
proportion to f(b), and the other way round. A join of related words is a
gain; a join of unrelated ones and a split of related ones are losses. A
word missing from the judgment counts as related, which favours the rule.
Needs ``pip install wordfreq``.

With ``--snowball`` the variant is Snowball's current English stemmer (the
pure-Python ``snowballstemmer``; newssearch runs the same algorithm through
PyStemmer) instead of the rule, and which words are related is the judgment
of ``relevance.SENSES`` (every word of a pair it changes is judged there).
Splitting unrelated words ("university" and "universe") is then a gain too.
"""

from __future__ import annotations

import argparse
from collections import defaultdict

from whoosh.lang.porter2 import stem as porter2

# Words not related in meaning to the "-ition" noun they meet (by the rule or
# by Porter2 alone), as news uses them: "coal" and "coalition", "competent"
# and "competition", "transit" (buses) and "transition", "definitely" and
# "definition". Misspellings and fragments ("definately", "trad", "cond")
# count as unrelated: a query for the noun should not find them.
UNRELATED = frozenset("""
    coal coals cond conde trad part parte parted parting partly parts competent competently competence
    competency competencies apparent apparently repose definately expose exposed exposes exposing
    disposable disposal disposals definite definitely definitive definitively opposite opposites expedite
    expedited requisite deposit deposited depositing deposits composite composites transit transitive
""".split())


def ition_rule(word: str) -> str:
    """Porter2, then the measured "-ition" fold."""
    stemmed = porter2(word)
    if (word.endswith("ition") or word.endswith("itions")) and stemmed.endswith("it") and len(stemmed) >= 6:
        return stemmed[:-2]
    return stemmed


def measure(words: list[str], base, variant) -> dict:
    """Changed words, and the word pairs the variant joins and splits, relative to ``base``."""
    base_stem = {w: base(w) for w in words}
    new_stem = {w: variant(w) for w in words}
    by_base, by_new = defaultdict(set), defaultdict(set)
    for w in words:
        by_base[base_stem[w]].add(w)
        by_new[new_stem[w]].add(w)
    changed = [w for w in words if base_stem[w] != new_stem[w]]
    joined, split = set(), set()
    for w in changed:
        for other in by_new[new_stem[w]] - by_base[base_stem[w]]:
            joined.add(tuple(sorted((w, other))))
        for other in by_base[base_stem[w]] - by_new[new_stem[w]]:
            split.add(tuple(sorted((w, other))))
    return {"changed": changed, "joined": sorted(joined), "split": sorted(split)}


def main() -> None:
    from wordfreq import top_n_list, word_frequency

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--top", type=int, default=50_000, help="how many of the most frequent English words")
    parser.add_argument("--show", type=int, default=40, help="pairs listed per kind")
    parser.add_argument("--snowball", action="store_true", help="measure Snowball's current English stemmer instead of the rule")
    args = parser.parse_args()
    # Only words of letters: wordfreq also lists numbers and contractions.
    words = [w for w in top_n_list("en", args.top) if w.isalpha() and w.isascii()]
    if args.snowball:
        from snowballstemmer.english_stemmer import EnglishStemmer

        from relevance import SENSE_OF

        result = measure(words, porter2, EnglishStemmer().stemWord)
        judged = {w for pair in result["joined"] + result["split"] for w in pair}
        if judged - set(SENSE_OF):
            parser.error(f"words without a judgment in relevance.SENSES: {sorted(judged - set(SENSE_OF))}")

        def is_related(pair) -> bool:
            return SENSE_OF[pair[0]] == SENSE_OF[pair[1]]
    else:
        result = measure(words, porter2, ition_rule)

        def is_related(pair) -> bool:
            return not UNRELATED & set(pair)

    def per_million(pair: tuple[str, str]) -> float:
        return min(word_frequency(w, "en") for w in pair) * 1e6

    def weigh(pairs, related: bool) -> tuple[int, float]:
        chosen = [p for p in pairs if is_related(p) == related]
        return len(chosen), sum(2 * word_frequency(a, "en") * word_frequency(b, "en") * 1e12 for a, b in chosen)

    gain = weigh(result["joined"], True)
    wrong_joins = weigh(result["joined"], False)
    lost = weigh(result["split"], True)
    parted = weigh(result["split"], False)
    what = "Snowball" if args.snowball else "the rule"
    print(f"{len(words)} words of the {args.top} most frequent; {what} changes the stem of {len(result['changed'])}")
    for kind in ("joined", "split"):
        pairs = sorted(result[kind], key=per_million, reverse=True)
        print(f"\n{kind}: {len(pairs)} pairs")
        for pair in pairs[: args.show]:
            print(f"  {pair[0]:<16} {pair[1]:<16} {per_million(pair):8.2f} per million")
    print("\nsummary (pairs, query-weighted):")
    print(f"  related words joined (gain)   {gain[0]:5} {gain[1]:10.0f}")
    print(f"  unrelated words joined (loss) {wrong_joins[0]:5} {wrong_joins[1]:10.0f}")
    print(f"  related words split (loss)    {lost[0]:5} {lost[1]:10.0f}")
    net = gain[1] - wrong_joins[1] - lost[1]
    if args.snowball:  # (the rule's measurement, as recorded in RESULTS.md, counted no such gain)
        print(f"  unrelated words split (gain)  {parted[0]:5} {parted[1]:10.0f}")
        net += parted[1]
    print(f"  net {net:+.0f}: {'keep' if net > 0 else 'drop'} {what}")


if __name__ == "__main__":
    main()
