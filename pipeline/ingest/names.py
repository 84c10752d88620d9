"""Left-over person names (``PERSON``): cue words and Faker's name lists, no NER model.

A de-identified note should name nobody, yet a name that slipped through ("Client's sister Maria
called", "Dr. Okafor referred") is the commonest residual identifier. There is no downloaded
model here: a capitalised word is a name when

- a **cue** comes right before it: a title ("Dr.", "Mrs", "Pastor"), a kinship or role word
  ("sister", "boss", "caseworker"), "named"/"goes by", or a sign-off ("Signed by",
  "Clinician:"), or a **credential** follows it ("J. Smith, LCSW"); any capitalised word
  counts there, so unlisted surnames are caught;
- or, without a cue, it is in the **first-name list** (Faker's person providers, Latin script,
  every locale: ~21,000 first names and ~20,000 surnames, MIT licensed, maintained) and is not
  an ordinary word. Which names are also words ("Will follow up", "Hope", "May benefit",
  "Grace period") is read off real English text by ``scripts/build_name_words.py``
  (``name_words.txt``); months, places, religions and languages, brands and the capitalised
  words of note structure ("Client", "Plan:", weekdays) are listed here.

A listed first name followed by a listed surname, or a name after a cue or before a credential,
scores 0.85; a listed first name alone, 0.6. Spans cover the name only (not the title), with
initials and adjacent name words joined ("J. Smith", "Maria Lopez").
"""

from __future__ import annotations

import functools
import importlib
import pkgutil
import re
import unicodedata
from collections.abc import Iterable
from pathlib import Path

NAME_WORDS_FILE = Path(__file__).with_name("name_words.txt")
CUED_SCORE = 0.85
LISTED_SCORE = 0.6

_UPPER = "A-ZÀ-ÖØ-ÞĀĂĄĆČĎĐĒĖĘĚĞĪĮİĶŁŃŅŇŌŐŒŘŚŞŠŢŤŪŮŰŲŹŻŽ"
_LOWER = "a-zß-öø-ÿāăąćčďđēėęěğīįıķłńņňōőœřśşšţťūůűųźżž"
# Maria, O'Brien, McDonald, DeShawn, Mary-Kate, Jae-won, N'Golo; and initials ("J.").
_TOKEN = re.compile(
    rf"(?<![\w'’-])(?:[{_UPPER}]\.(?=\s*[{_UPPER}])"
    rf"|[{_UPPER}][{_LOWER}]*(?:['’]?[{_UPPER}][{_LOWER}]+|-[{_UPPER}]?[{_LOWER}]+)*(?![\w-]))"
)

# Titles and sign-offs: the next capitalised word is a name whatever it is.
_TITLE = (
    r"(?:\b(?:Dr|Mr|Mrs|Ms|Mx|Prof|Fr|Rev|Sr|Hon)\.?"
    r"|\b(?:Doctor|Professor|Nurse|Pastor|Father|Reverend|Rabbi|Imam|Coach|Officer|Judge"
    r"|Miss|Madam|Deacon|Detective|Sergeant|Sheikh|Auntie|Uncle|Aunt|Grandma|Grandpa|Nana"
    r"|Papa|Mama|Abuela|Abuelo|Tia|Tio))"
)
_ROLES = (
    "mother|mom|mum|mommy|mama|father|dad|daddy|papa|parent|stepmother|stepmom|stepfather"
    "|stepdad|sister|brother|sibling|stepsister|stepbrother|half-sister|half-brother|son|daughter"
    "|stepson|stepdaughter|child|kid|baby|twin|wife|husband|spouse|partner|fiancée?|boyfriend|bf"
    "|girlfriend|gf|ex|ex-wife|ex-husband|ex-partner|ex-boyfriend|ex-girlfriend|aunt|auntie"
    "|uncle|cousin|niece|nephew|grandmother|grandma|granny|grandfather|grandpa|granddaughter"
    "|grandson|grandchild|godmother|godfather|in-law|mother-in-law|father-in-law"
    "|sister-in-law|brother-in-law|friend|bestie|roommate|housemate|flatmate|neighbou?r|boss"
    "|manager|supervisor|coworker|co-worker|colleague|employer|teacher|tutor|coach|classmate"
    "|principal|counsel(?:l)?or|therapist|psychiatrist|psychologist|doctor|pcp|physician"
    "|pediatrician|nurse|prescriber|caseworker|case manager|social worker|worker|sponsor"
    "|mentor|pastor|priest|rabbi|imam|minister|landlord|landlady|lawyer|attorney|advocate"
    "|officer|guardian|foster mother|foster father|caregiver|nanny|babysitter|date|crush"
    "|fiance|bff|buddy|interpreter|aide|stepparent|tita|tito|lola|lolo|abuela|abuelo|tia|tio"
    "|nani|nana|dadi|baba|ammi|abba|amma|appa|ayi|sons|daughters|kids|children|brothers|sisters"
    "|parents|friends|cousins|twins|grandchildren|roommates|coworkers|co-workers|colleagues"
)
_ROLE = rf"(?i:\b(?:{_ROLES}))"
_NAMED = (
    r"(?i:\b(?:named|nicknamed|goes\s+by|known\s+as|a\.?k\.?a\.?|name\s+is|name's"
    r"|called\s+her|called\s+him))"
)
_SIGN_OFF = (
    r"(?i:(?:^|\n)\s*(?:(?:--|—)\s*|(?:electronically\s+)?(?:co-?)?signed(?:\s+by)?\s*:?\s*"
    r"|signature\s*:\s*|written\s+by\s*:?\s*|reviewed\s+by\s*:?\s*|author\s*:\s*|cc\s*:\s*"
    r"|(?:clinician|therapist|provider|counsel(?:l)?or|supervisor|attending|intern)\s*:\s*))"
)
_WORD_CUE = re.compile(rf"(?:{_TITLE}|{_ROLE}|{_NAMED}),?\s+")
_SIGN_OFF_CUE = re.compile(_SIGN_OFF)
_CREDENTIAL = re.compile(
    r"^,?\s+(?:LCSW|LICSW|LMSW|LMFT|LPC|LPCC|LMHC|LCPC|LCADC|CADC|LADC|LPN|RN|NP|APRN|PMHNP"
    r"|MSW|BCBA|PsyD|Psy\.D\.|PhD|Ph\.D\.|MD|M\.D\.|DO|MA|MS|MFT|CSW|CPC|LP|LCMHC|QMHP)\b"
)

_ROLE_AFTER = re.compile(rf"^\s*\((?:{_ROLES})\)", re.IGNORECASE)  # "Lena (wife)"
# What people do in notes: an unlisted capitalised word mid-sentence followed by one of these
# ("Client says Hiwot has stopped") is a name more often than anything else.
_PERSON_VERB = re.compile(
    r"^(?:'s|’s|\s+(?:and\s+(?:she|he|they|i)\b|(?:has|had|is|was|says|said|called|calls"
    r"|texted|told|tells|wants|wanted|thinks|thought|feels|felt|keeps|kept|yelled|left|moved"
    r"|came|comes|visited|asked|asks|stopped|doesn't|didn't|won't|hasn't|isn't|wasn't"
    r"|never|always|just|still|agreed|refused|promised|blamed|apologi[sz]ed|cried|laughed"
    r"|hit|hurt|threatened|drinks|drank|lives|lived|works|worked)\b))"
)
UNCUED_SCORE = 0.5
_DAY_NUMBER = re.compile(r"\s+\d")  # "May 3": a month before a day is a date
_MID_SENTENCE = re.compile(r"[a-z,]\s$")  # the two characters before a word
_EPONYM = re.compile(
    r"^['’]s\s+(?:disease|syndrome|palsy|law|rule|razor|hierarchy|theory|method|model|scale"
    r"|inventory|test|criteria|sign|phenomenon|effect|triad|chorea|dementia)\b",
    re.IGNORECASE,
)
_SIGN_OFF_END = re.compile(r"^[\w .'’-]{0,40}(?:,|$|\n)")


# Capitalised words of note structure: never a name, even after a cue ("her boss Monday",
# "sister, Today she", "Therapist: How").
def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


STRUCTURE_WORDS = _words(
    """
    A An And Also Any As At But By Each Every For From He Her Hers Him His How I If In It Its
    Me My No Not Nor Now Of Ok Okay On Or Our Per Re She So Some That The Their Them Then
    There These They This Those To Um Uh Us We Well What When Where Which While Who Whom Whose
    Why With Yes Yeah You Your Hi Hello Thanks Thank Sure Right Just Maybe Please Sorry
    Client Clients Pt Pts Patient Patients Writer Clinician Clinicians Therapist Counselor
    Counsellor Provider Staff Team Family Group Member Members Session Sessions Note Notes
    Plan Assessment Data Response Subjective Objective Intervention Interventions Goal Goals
    Behavior Behaviour Homework Mood Affect Risk Safety Summary Progress Diagnosis Reason
    Presenting Problem History Status Mental Appointment Visit Office Intake Discharge
    Referral Treatment Therapy Follow Next Today Tomorrow Yesterday Tonight Morning Afternoon
    Evening Night Day Days Week Weeks Weekend Month Months Year Years Time Hour Hours
    Monday Tuesday Wednesday Thursday Friday Saturday Sunday Mon Tue Tues Wed Thu Thur Thurs
    Fri Sat Sun Christmas Easter Thanksgiving Hanukkah Chanukah Ramadan Eid Diwali Passover
    Halloween Kwanzaa Lent Yom Kippur Valentine Valentines New Eve Holiday Holidays Mother's
    Father's Anonymous Hospital Clinic Center Centre School University College Court Church
    Department Services Unit Program Programme Line Crisis Emergency Medicaid Medicare
    Elementary Middle High Academy Institute Foundation Inc LLC Bank County City State Park
    Street Avenue Road Lane Drive Boulevard Blvd Way Place Terrace Circle Parkway Highway
    Square Trail Plaza Box PO Health Questionnaire Scale Inventory Test Method Model Act Rights
    Dr Mr Mrs Ms Mx Prof Fr Rev Sr Hon Doctor Professor Nurse Pastor Father Reverend Rabbi
    Imam Coach Officer Judge Miss Madam Deacon Detective Sergeant Sheikh Mother Mom Mum Dad
    Sister Brother Son Daughter Wife Husband Partner Spouse Boyfriend Girlfriend Fiance
    Fiancee Aunt Auntie Uncle Cousin Niece Nephew Grandmother Grandma Grandfather Grandpa
    Friend Roommate Boss Manager Supervisor Coworker Teacher Parent Parents Caseworker
    Psychiatrist Psychologist Physician Sponsor Mentor Landlord Lawyer Attorney Guardian
    """
)

MONTHS = _words(
    "January February March April May June July August September October November December"
    " Jan Feb Mar Apr Jun Jul Aug Sep Sept Oct Nov Dec"
)
# Faker's name lists hold these too; without a cue they are religions, peoples, languages,
# places or products ("a Christian counselor", "moved to Georgia", "asked Alexa").
_NOT_NAMES = _words(
    """
    Christian Catholic Muslim Jewish Hindu Buddhist Protestant Baptist Methodist Lutheran
    Mormon Orthodox Sikh Jesus God Allah Christ Lord Mary Bible Quran Torah English Spanish
    French German Korean Chinese Japanese Vietnamese Arabic Hindi Russian Polish Portuguese
    Italian Filipino Tagalog Somali Turkish Persian Farsi Urdu Bengali Tamil Haitian Creole
    Mexican American African Asian European Latina Latino Latinx Hispanic Native Indigenous
    Irish Scottish Welsh British Canadian Indian Nigerian Jamaican Cuban Dominican Greek
    Austin Dallas Houston Phoenix Charlotte Savannah Madison Florence Chelsea Victoria Paris
    Sydney Denver Orlando Aurora Raleigh Tucson Miami Boston Chicago Seattle Portland Vegas
    Brooklyn Bronx Queens Trenton Camden Harlem Jordan Israel India China Asia Africa America
    Europe Kenya Lourdes Santiago Regina Sierra Carolina Dakota Georgia Virginia Indiana
    Montana Nevada Alexa Siri Cortana Mercedes Tesla Porsche Toyota Honda Lexus Kia Dodge
    Wendy Target Walmart Costco Amazon Uber Lyft Zoom Netflix Instagram Facebook Google
    Apple Xanax Ativan Zoloft Lexapro Prozac Paxil Celexa Abilify Seroquel Klonopin Valium
    Wellbutrin Effexor Cymbalta Lamictal Lithium Adderall Ritalin Suboxone Narcan Vivitrol
    Beck Likert Maslow Rogers Gottman Linehan Freud Jung Socrates Skinner Pavlov Young
    West East North South Columbia Baker Miranda Wells Fargo Kaiser Lincoln Hopkins Mayo
    """
)


def _is_latin_name(word: str) -> bool:
    return (
        len(word) >= 2
        and word[0].isupper()
        and not word.isupper()
        and all(c.isalpha() and "LATIN" in unicodedata.name(c, "") for c in word)
    )


def _provider_lists(provider: type, names: Iterable[str]) -> Iterable[str]:
    for attribute in names:
        for cls in provider.__mro__:
            if attribute in cls.__dict__:
                value = cls.__dict__[attribute]
                if isinstance(value, (dict, list, tuple)):
                    yield from value
                break


@functools.lru_cache(maxsize=1)
def load_name_lists() -> tuple[frozenset[str], frozenset[str]]:
    """First names and surnames in Latin script from every Faker person provider (cached).

    Returns:
        ``(first_names, surnames)``; multi-word entries ("Mary Ann") are split into words.
    """
    import faker.providers.person as person_providers

    first: set[str] = set()
    last: set[str] = set()
    firsts = ("first_names", "first_names_female", "first_names_male", "first_names_nonbinary")
    for module in pkgutil.iter_modules(person_providers.__path__):
        provider = importlib.import_module(f"{person_providers.__name__}.{module.name}").Provider
        for target, attributes in ((first, firsts), (last, ("last_names",))):
            for entry in _provider_lists(provider, attributes):
                target.update(w for w in str(entry).split() if _is_latin_name(w))
    return frozenset(first), frozenset(last)


@functools.lru_cache(maxsize=1)
def name_words() -> frozenset[str]:
    """Names that are also ordinary words (``name_words.txt``), months and non-names."""
    lines = NAME_WORDS_FILE.read_text(encoding="utf-8").splitlines()
    listed = {line.strip() for line in lines if line.strip() and not line.startswith("#")}
    return frozenset(listed) | MONTHS | _NOT_NAMES | STRUCTURE_WORDS


class PersonFinder:
    """Finds left-over person names in free text (see the module docstring for the rules).

    Args:
        allow: Words never taken for names, such as a clinic's program names ("Harbor").
    """

    def __init__(self, allow: Iterable[str] = ()) -> None:
        first, last = load_name_lists()
        allowed = frozenset(allow)
        self.words = name_words() | allowed
        self.structure = STRUCTURE_WORDS | allowed
        # Listed names that are not also ordinary words: what a name needs without a cue.
        self.first_names = first - self.words
        self.surnames = last - self.words

    def find(self, text: str) -> list[tuple[int, int, float]]:
        """Name spans in ``text`` as ``(start, end, score)``, sorted and non-overlapping."""
        # One capital alone ("Partner B") is a label, not a name; "J." is an initial.
        tokens = [
            (m.start(), m.end(), m.group())
            for m in _TOKEN.finditer(text)
            if m.end() - m.start() > 1
        ]
        cue_ends = _cue_ends(text)
        verdicts = [self._verdict(text, tokens, i, cue_ends) for i in range(len(tokens))]
        spans: list[tuple[int, int, float]] = []
        i = 0
        while i < len(tokens):
            if verdicts[i] is None:
                i += 1
                continue
            start, end, score = tokens[i][0], tokens[i][1], verdicts[i]
            j = i + 1
            while j < len(tokens) and verdicts[j] is not None and _adjacent(text, end, tokens[j]):
                end, score = tokens[j][1], max(score, verdicts[j])
                j += 1
            # Initials belong to the name after them ("J. Smith"); alone they are not one.
            if not all(token[2].endswith(".") for token in tokens[i:j]):
                spans.append((start, end, score))
            i = j
        return spans

    def _verdict(
        self, text: str, tokens: list[tuple[int, int, str]], i: int, cue_ends: dict[int, str]
    ) -> float | None:
        """The score of token ``i`` as part of a name, or None when it is not one."""
        start, end, word = tokens[i]
        previous = tokens[i - 1] if i and _adjacent(text, tokens[i - 1][1], tokens[i]) else None
        following = (
            tokens[i + 1] if i + 1 < len(tokens) and _adjacent(text, end, tokens[i + 1]) else None
        )
        if word.endswith("."):  # an initial: kept only before a name word
            return CUED_SCORE if following else None
        if word in self.structure or (word in MONTHS and _DAY_NUMBER.match(text, end)):
            return None
        before = text[max(0, start - 2) : start]
        after = text[end : end + 24]
        if _EPONYM.match(after):  # "Alzheimer's disease", "Maslow's hierarchy"
            return None
        cue = cue_ends.get(start)
        if cue == "dash" and not _SIGN_OFF_END.match(after):
            cue = None  # a dash starts a list item, not a sign-off, unless the line ends soon
        if cue or _CREDENTIAL.match(after) or _ROLE_AFTER.match(after):
            return CUED_SCORE
        if following and word not in self.words:
            after_following = text[following[1] : following[1] + 24]
            if _CREDENTIAL.match(after_following) or _ROLE_AFTER.match(after_following):
                return CUED_SCORE  # "Dana Whitfield, LCSW", "Bashir Rahimi (interpreter)"
        if previous is not None and previous[2].endswith("."):  # "J. Smith", not "P.O. Box"
            return CUED_SCORE if word in self.first_names or word in self.surnames else None
        if word in self.first_names:
            return CUED_SCORE if following and following[2] in self.surnames else LISTED_SCORE
        if word in self.words:
            return None
        # A surname or unlisted word joins a listed first name before it ("Maria Okonkwo").
        if previous is not None and previous[2] in self.first_names:
            return CUED_SCORE
        # An unlisted word mid-sentence that does what people do ("says Hiwot has").
        if _MID_SENTENCE.search(before) and _PERSON_VERB.match(after):
            return UNCUED_SCORE
        return None


def _cue_ends(text: str) -> dict[int, str]:
    """Where a cue ends (the next word's start): ``word``, ``sign-off`` or ``dash`` cues."""
    ends = {m.end(): "word" for m in _WORD_CUE.finditer(text)}
    for match in _SIGN_OFF_CUE.finditer(text):
        ends[match.end()] = "dash" if match.group().lstrip().startswith(("--", "—")) else "sign-off"
    return ends


def _adjacent(text: str, end: int, token: tuple[int, int, str]) -> bool:
    """Whether ``token`` follows ``end`` after one space or none (same line, no punctuation)."""
    return text[end : token[0]] in (" ", "")


@functools.lru_cache(maxsize=8)
def get_finder(allow: tuple[str, ...] = ()) -> PersonFinder:
    """A shared :class:`PersonFinder` (the name lists load once, about a second)."""
    return PersonFinder(allow)
