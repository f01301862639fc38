"""The French-first analyzer behind the lexical side."""

from qa.text.analyzer import analyze, analyze_query, fold


def test_elisions_accents_stems_and_stop_words() -> None:
    assert analyze("L’accord d'Astana qu'ils ont signé") == ["accord", "astan", "sign"]
    assert analyze("Les accords bilatéraux") == ["accord", "bilateral"]
    assert fold("Tokaïev ÉTAT") == "tokaiev etat"


def test_query_terms_meet_french_stems_in_english() -> None:
    terms = analyze_query("What was signed in Astana?")
    assert "sign" in terms and "astan" in terms
    assert "what" not in terms and "was" not in terms
