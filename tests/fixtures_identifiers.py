"""Synthetic, labeled corpus for the residual identifier guard (no real people).

Therapy-note sentences holding identifiers in varied formats, with character-offset gold spans,
and hard negatives full of clinical numbers (scores, session dates, doses, ages, times). Two
splits with disjoint sentence templates and seeds: ``dev`` is the one the guard's patterns were
tuned on, ``test`` the one to report. The value formats (the guard's specification) are shared.

Scoring is span-level: a predicted span is correct when it overlaps a gold span of the same
entity; a gold span is found when a correct prediction overlaps it. Used by
``tests/pipeline/ingest/test_identifiers.py`` and ``benchmarks/identifier_guard.py``.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from pipeline.ingest.identifiers import ENTITIES

Span = tuple[str, int, int]  # (entity, start, end)


@dataclass(frozen=True)
class Example:
    """One labeled sentence; ``spans`` empty for a hard negative."""

    text: str
    spans: tuple[Span, ...]


# --- value generators: the formats the guard must handle (shared by both splits) ---------------

_EMAIL_USERS = ["alex.k", "sam_t", "client.alpha", "r.morgan77", "jdoe", "pat-lee", "k.w.88"]
_EMAIL_DOMAINS = [
    "example.com",
    "mail.example.org",
    "students.uni-example.edu",
    "clinic-example.net",
    "example.co.uk",
    "dept.health.example.gov",
    "inbox.example.io",
]
_AREA_CODES = ["555", "555", "617", "212", "415", "303", "512", "919"]
_STREETS = ["Elm", "Oak", "Maple", "Cedar", "Pine", "Birch", "Willow", "Mill Pond", "Lakeview"]
_SUFFIXES = ["Street", "St", "St.", "Avenue", "Ave", "Ave.", "Road", "Rd", "Lane", "Drive", "Blvd"]
_UNITS = ["Apt 4", "Apt. 12B", "Unit 3", "Suite 210", "#5"]
_MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August"]
_DOB_CUES = ["DOB:", "DOB", "D.O.B.", "date of birth", "Date of birth:", "born on", "birthdate"]
_MRN_CUES = ["MRN:", "MRN", "MRN#", "medical record number", "medical record #", "record #"]
_MRN_CUES += ["chart no.", "chart #", "patient ID"]
_SSN_CUES = ["SSN", "SSN:", "SSN#", "social security number", "Social Security no."]


def _email(rng: random.Random) -> str:
    return f"{rng.choice(_EMAIL_USERS)}@{rng.choice(_EMAIL_DOMAINS)}"


def _phone(rng: random.Random) -> str:
    a, b, c = rng.choice(_AREA_CODES), rng.randint(201, 989), rng.randint(0, 9999)
    formats = ["({a}) {b}-{c:04d}", "{a}-{b}-{c:04d}", "+1 {a} {b} {c:04d}", "{a}.{b}.{c:04d}"]
    formats += ["1-{a}-{b}-{c:04d}"]
    return rng.choice(formats).format(a=a, b=b, c=c)


def _ssn_digits(rng: random.Random) -> tuple[str, str, str]:
    # Valid-looking: the SSA never issues area 000, 666 or 900+, group 00 or serial 0000.
    area = rng.choice([n for n in range(1, 900) if n != 666])
    return f"{area:03d}", f"{rng.randint(1, 99):02d}", f"{rng.randint(1, 9999):04d}"


def _ssn(rng: random.Random) -> str:
    return "-".join(_ssn_digits(rng))


def _ssn_any_format(rng: random.Random) -> str:
    parts = _ssn_digits(rng)
    return rng.choice(["-", " ", ""]).join(parts)


def _ssn_unissued(rng: random.Random) -> str:
    """SSN-shaped numbers that can never be issued, and well-known test numbers."""
    area = rng.choice(["000", "666", f"{rng.randint(900, 999)}", "123", "078", "219"])
    group = rng.choice(["00", f"{rng.randint(1, 99):02d}", "45", "05", "09"])
    serial = rng.choice(["0000", f"{rng.randint(1, 9999):04d}", "6789", "1120", "9999"])
    return rng.choice(["-", " ", ""]).join((area, group, serial))


def _phone_unassigned(rng: random.Random) -> str:
    """Phone-shaped numbers that phonenumbers calls invalid (area or exchange 0xx/1xx)."""
    a, b, c = rng.choice(["000", "011", "123", "199"]), rng.randint(0, 199), rng.randint(0, 9999)
    return rng.choice(["({a}) {b:03d}-{c:04d}", "{a}-{b:03d}-{c:04d}"]).format(a=a, b=b, c=c)


def _email_bare(rng: random.Random) -> str:
    """An address without a public domain (an intranet or a typo), still an identifier."""
    return f"{rng.choice(_EMAIL_USERS)}@{rng.choice(['clinicmail', 'localhost', 'mail-server'])}"


def _url(rng: random.Random) -> str:
    host = rng.choice(
        ["www.example.org", "portal.example-clinic.com", "example.net", "example.org"]
    )
    host = rng.choice([host, "selfhelp.example.edu", "telehealth.example.com"])
    path = rng.choice(["", "/resources/sleep-hygiene", "/forms/intake", "/cbt/worksheets?id=42"])
    scheme = rng.choice(["https://", "http://", ""])
    if not scheme and not path and not host.startswith("www."):
        path = "/groups"
    return f"{scheme}{host}{path}"


def _address(rng: random.Random) -> str:
    if rng.random() < 0.08:
        return f"P.O. Box {rng.randint(10, 9999)}"
    text = f"{rng.randint(1, 9999)} {rng.choice(_STREETS)} {rng.choice(_SUFFIXES)}"
    if rng.random() < 0.4:
        text += f", {rng.choice(_UNITS)}"
    if rng.random() < 0.3:
        text += f", Springfield, IL {rng.randint(10000, 99999)}"
    return text


def _full_date(rng: random.Random) -> str:
    y, m, d = rng.randint(1940, 2008), rng.randint(1, 12), rng.randint(1, 28)
    month = _MONTHS[(m - 1) % len(_MONTHS)]
    formats = [
        f"{m:02d}/{d:02d}/{y}",
        f"{m}/{d}/{y % 100:02d}",
        f"{y}-{m:02d}-{d:02d}",
        f"{month} {d}, {y}",
        f"{month[:3]}. {d}, {y}",
        f"{d} {month} {y}",
        f"{m:02d}-{d:02d}-{y}",
    ]
    return rng.choice(formats)


def _mrn_id(rng: random.Random) -> str:
    n = rng.randint(0, 9_999_999)
    formats = [f"{n:08d}", f"A-{n % 1_000_000:06d}", f"MR-20{rng.randint(10, 26)}-{n % 100000:05d}"]
    formats += [f"{n:07d}", f"CH{n:07d}"]
    return rng.choice(formats)


# (entity or None, cue generator or None, value generator); cue text is not part of the span.
_SLOTS: dict[str, tuple[str, Callable[[random.Random], str] | None, Callable]] = {
    "EMAIL": ("EMAIL", None, _email),
    "PHONE": ("PHONE", None, _phone),
    "SSN": ("SSN", None, _ssn),
    "SSN_CUED": ("SSN", lambda r: r.choice(_SSN_CUES), _ssn_any_format),
    "SSN_UNISSUED": ("SSN", lambda r: r.choice(_SSN_CUES), _ssn_unissued),
    "PHONE_UNASSIGNED": (
        "PHONE",
        lambda r: r.choice(["phone", "phone:", "cell", "call", "Tel.", "called her at"]),
        _phone_unassigned,
    ),
    "EMAIL_BARE": ("EMAIL", lambda r: r.choice(["email", "e-mail:", "Email address"]), _email_bare),
    "URL": ("URL", None, _url),
    "ADDRESS": ("ADDRESS", None, _address),
    "DOB": ("DOB", lambda r: r.choice(_DOB_CUES), _full_date),
    "DOB_DATE": ("DOB", None, _full_date),
    "MRN": ("MRN", lambda r: r.choice(_MRN_CUES), _mrn_id),
    "MRN_ID": ("MRN", None, _mrn_id),
    "MRN_NUM": ("MRN", None, lambda r: f"{r.randint(0, 99_999_999):08d}"),
}

# Distractors: filled in, never labeled.
_DISTRACTORS: dict[str, Callable[[random.Random], str]] = {
    "n": lambda r: str(r.randint(2, 20)),
    "score": lambda r: str(r.randint(0, 27)),
    "age": lambda r: str(r.randint(18, 80)),
    "year": lambda r: str(r.randint(1950, 2025)),
    "dose": lambda r: f"{r.choice([5, 10, 20, 25, 50, 100, 150])} mg",
    "time": lambda r: f"{r.randint(8, 17)}:{r.choice(['00', '15', '30', '45'])}",
    "date": lambda r: r.choice(
        [
            f"{r.randint(1, 12)}/{r.randint(1, 28)}",
            f"{r.randint(1, 12):02d}/{r.randint(1, 28):02d}/2026",
            f"2026-{r.randint(1, 12):02d}-{r.randint(1, 28):02d}",
            f"{r.choice(_MONTHS)} {r.randint(1, 28)}, 2026",
            f"{r.choice(_MONTHS)} {r.randint(1, 28)}",
        ]
    ),
}

_SLOT = re.compile(r"\{([A-Za-z_]+)\}")


def fill(template: str, rng: random.Random) -> Example:
    """Fill a template's ``{SLOT}``\\ s, recording gold spans for identifier slots."""
    pieces: list[str] = []
    spans: list[Span] = []
    length = 0
    last = 0
    for match in _SLOT.finditer(template):
        literal = template[last : match.start()]
        pieces.append(literal)
        length += len(literal)
        name = match.group(1)
        if name in _SLOTS:
            entity, cue, value_of = _SLOTS[name]
            if cue is not None:
                prefix = cue(rng) + " "
                pieces.append(prefix)
                length += len(prefix)
            value = value_of(rng)
            spans.append((entity, length, length + len(value)))
        else:
            value = _DISTRACTORS[name](rng)
        pieces.append(value)
        length += len(value)
        last = match.end()
    pieces.append(template[last:])
    return Example("".join(pieces), tuple(spans))


# --- templates: disjoint between the splits -------------------------------------------------------

DEV_POSITIVE = {
    "EMAIL": [
        "Client asked that reminders go to {EMAIL} instead of the portal.",
        "Homework log was sent from {EMAIL} before session {n}.",
        "Per client, the best contact is {EMAIL}; PHQ-9 today {score}.",
        "Contact sheet: {PHONE} / {EMAIL}.",
        "Client wrote from {EMAIL_BARE} about the schedule.",
    ],
    "PHONE": [
        "Client can be reached at {PHONE} after {time}.",
        "Emergency contact (sister) {PHONE}, agreed to safety plan.",
        "Left voicemail at {PHONE} re: rescheduling session {n}.",
        "Ph:{PHONE} (ext. {n}), best between {time}-{time}.",
        "Contact sheet lists {PHONE_UNASSIGNED} for the client's mother.",
    ],
    "SSN": [
        "Intake packet listed {SSN} on page {n}; returned to front desk.",
        "Billing form shows {SSN_CUED} for the claim.",
        "Client read out {SSN_CUED} while completing the disability form.",
        "(SS# {SSN}) appears in the scanned letter from {date}.",
        "Scanned form: {SSN_UNISSUED} (looks like a test number).",
        "Intake sheet listed {SSN_UNISSUED} next to the signature.",
    ],
    "URL": [
        "Shared the worksheet at {URL} for practice between sessions.",
        "Client found a support group through {URL} last week.",
        "Recommended {URL} for sleep hygiene; GAD-7 of {score}.",
        "Website: {URL}.",
    ],
    "ADDRESS": [
        "Client moved to {ADDRESS} with her partner {n} weeks ago.",
        "Mail returned from {ADDRESS}; updated contact sheet.",
        "Home visit planned at {ADDRESS} on {date}.",
        "Lives at {ADDRESS}, {n} miles from clinic (2,000 steps a day).",
    ],
    "DOB": [
        "Verified identity, {DOB}, before starting session {n}.",
        "Client was born on {DOB_DATE} and is the eldest of {n} siblings.",
        "Header: {DOB}; session {n}; PHQ-9 {score}.",
        "Pt (DOB {DOB_DATE}) seen {date} for intake.",
    ],
    "MRN": [
        "Referral letter cites {MRN} from the hospital stay.",
        "Records request sent for {MRN} on {date}.",
        "Scanned the discharge summary ({MRN}) into the chart.",
        "ED visit {date}, MRN{MRN_NUM}, released after {n} hours.",
    ],
}

TEST_POSITIVE = {
    "EMAIL": [
        "Client prefers e-mail; address on file is {EMAIL}.",
        "Forwarded the mood tracker to {EMAIL} at client's request.",
        "Contact: {EMAIL} (personal), not the work account.",
    ],
    "PHONE": [
        "New cell number {PHONE}; texting is okay for reminders.",
        "Crisis plan lists the client's mother at {PHONE}.",
        "Pt called from {PHONE} to cancel; rebooked for {date}.",
    ],
    "SSN": [
        "Disability paperwork included {SSN}, redacted copy requested.",
        "Insurance mix-up: {SSN_CUED} was entered twice.",
        "Client mentioned {SSN_CUED} when asking about benefits.",
    ],
    "URL": [
        "Gave handout link {URL}; client will try it by session {n}.",
        "Client follows {URL} for mindfulness audio.",
        "See {URL} for the exposure hierarchy template.",
    ],
    "ADDRESS": [
        "Client now staying at {ADDRESS} with a friend.",
        "Mailing address changed to {ADDRESS} as of {date}.",
        "Shelter placement at {ADDRESS}; follow-up in {n} days.",
    ],
    "DOB": [
        "Demographics: {DOB}, age {age}.",
        "Confirmed {DOB} with client at check-in.",
        "Client's daughter was born on {DOB_DATE}, per client.",
    ],
    "MRN": [
        "Hospital notes attached under {MRN}.",
        "Coordinated with psychiatry re: {MRN}, meds reviewed.",
        "Lab results filed with {MRN} on {date}.",
    ],
}

DEV_NEGATIVE = [
    "PHQ-9 score {score}, down from {score} at intake.",
    "GAD-7 of {score}; client reports {n} panic attacks this week.",
    "Session {n} of {n}; client arrived {n} minutes late.",
    "Client rated mood 3/5 and anxiety 4/10 today.",
    "Next session on {date} at {time}.",
    "Client has taken sertraline {dose} daily for {n} weeks.",
    "Client, age {age}, lives with partner and {n} children.",
    "Since {year}, client has worked night shifts.",
    "Group met in room {n}; {n} members attended.",
    "BP 120/80 per PCP; sleep {n}-{n} hours a night.",
    "Client's mother was born in {year} and emigrated in {year}.",
    "Reviewed medical record; no changes since {date}.",
    "Client walked {n} blocks from Elm Street to the clinic.",
    "Discussed the email from her manager and the phone call on {date}.",
    "Homework: {n} thought records, i.e. one per day, e.g. after work.",
    "Client slept poorly.Discussed sleep diary and caffeine after {time}.",
    "Session length 53 min (CPT 90837); ICD-10 F41.1.",
    "Client was given the 988 crisis line and {n} coping cards.",
    "Drinks {n}-{n} beers {n}x/week, down from daily in {year}.",
    "BDI-II {score} -> {score} over {n} weeks.",
    "Sessions #{n}-#{n} covered exposure; ratio of 1:2 avoidance to approach.",
    "Met {date} and {date}, {time}-{time}; $1,200 rent due; rm {n}.",
    "Got mRNA-1273 booster; Dx F32.1 and F41.1; client sees PCP at {n} Main clinic on Tuesdays.",
    "Treatment window 1/2026-3/2026; billed CPT 90837-95 (telehealth).",
    "Client counts 2,500 steps; scored 14/27 on 2026-03-02 and 9/27 on 2026-03-16.",
    "PHQ-9 = {score}; client called {n} times about the phone bill.",
    "Client works at a call center; {n} calls an hour, {n}-{n} breaks.",
    "Emailed handout (chapter {n}, pp. {n}-{n}); phone session {date} at {time}.",
    "DSM-5 300.02 (F41.1); ICD-10 Z65.8; step {n} of {n}.",
]

TEST_NEGATIVE = [
    "PCL-5 total {score}; avoidance cluster highest.",
    "Client reports {n} days sober as of {date}.",
    "Weight {n}0 lbs, A1c 6.5 per last labs in {year}.",
    "Rescheduled from {date} to {date}, {time} slot.",
    "Client's birthday is next week; anticipates family conflict.",
    "Scored 45/63 on the BDI-II; discussed item {n}.",
    "Step {n} of the 12-step program discussed; sponsor since {year}.",
    "Client is {age} years old and started therapy in {year}.",
    "Escitalopram increased to {dose} on {date}.",
    "Met for {n} minutes; {n} minutes spent on safety planning.",
    "Chart notes from session {n} reviewed with supervisor.",
    "Client described the record number of missed shifts as {n}.",
    "Client was born and raised on a farm, moved in {year}.",
    "Phone session; client in car, {n} interruptions.",
    "Sleep 11pm-7am, {n} awakenings, nap at {time}.",
    "Client completed {n}/{n} exposures; SUDS {n}0 -> {n}0.",
    "Visit {n}: follow-up 2026-04-{n}0 pending insurance.",
    "Client listed {n} triggers, e.g. crowds, loud noise, etc.",
    "Client has lived in Ward {n} since {year}; apt to ruminate at night.",
    "Suite of DBT skills practiced: TIPP, ACCEPTS, {n} rounds.",
]

_SPLITS = {
    "dev": (DEV_POSITIVE, DEV_NEGATIVE, 11),
    "test": (TEST_POSITIVE, TEST_NEGATIVE, 29),
}


def make_corpus(split: str = "test", per_entity: int = 30, negatives: int = 120) -> list[Example]:
    """The labeled corpus of one split: ``per_entity`` positives per entity, then negatives."""
    positive, negative, seed = _SPLITS[split]
    rng = random.Random(seed)
    examples = []
    for entity in positive:  # PERSON has hand-written sets of its own (names_corpus)
        templates = positive[entity]
        examples += [fill(templates[i % len(templates)], rng) for i in range(per_entity)]
    examples += [fill(negative[i % len(negative)], rng) for i in range(negatives)]
    return examples


# --- scoring --------------------------------------------------------------------------------------


def _overlaps(a: Span, b: Span) -> bool:
    return a[0] == b[0] and a[1] < b[2] and b[1] < a[2]


def evaluate(detect: Callable[[str], Iterable[Span]], corpus: list[Example]) -> dict:
    """Span-level precision/recall per entity and overall, and false alarms on negatives."""
    counts = {e: {"tp_pred": 0, "pred": 0, "found": 0, "gold": 0} for e in ENTITIES}
    negative_false_alarms = 0
    for example in corpus:
        predicted = list(detect(example.text))
        if not example.spans:
            negative_false_alarms += bool(predicted)
        for span in predicted:
            counts[span[0]]["pred"] += 1
            counts[span[0]]["tp_pred"] += any(_overlaps(span, g) for g in example.spans)
        for gold in example.spans:
            counts[gold[0]]["gold"] += 1
            counts[gold[0]]["found"] += any(_overlaps(gold, p) for p in predicted)

    def ratios(c: dict) -> dict:
        return {
            "precision": round(c["tp_pred"] / c["pred"], 4) if c["pred"] else None,
            "recall": round(c["found"] / c["gold"], 4) if c["gold"] else None,
            "predicted": c["pred"],
            "gold": c["gold"],
        }

    total = {k: sum(c[k] for c in counts.values()) for k in ("tp_pred", "pred", "found", "gold")}
    return {
        "overall": ratios(total),
        "per_entity": {e: ratios(c) for e, c in counts.items()},
        "negatives_with_false_alarm": negative_false_alarms,
        "negatives": sum(not e.spans for e in corpus),
    }


def errors(detect: Callable[[str], Iterable[Span]], corpus: list[Example]) -> list[dict]:
    """Misses and false alarms with their (synthetic) text, for tuning on the dev split."""
    found = []
    for example in corpus:
        predicted = list(detect(example.text))
        wrong = [p for p in predicted if not any(_overlaps(p, g) for g in example.spans)]
        missed = [g for g in example.spans if not any(_overlaps(g, p) for p in predicted)]
        if wrong or missed:
            found.append(
                {
                    "text": example.text,
                    "false_alarms": [(e, example.text[s:t]) for e, s, t in wrong],
                    "missed": [(e, example.text[s:t]) for e, s, t in missed],
                }
            )
    return found


# --- probe: hand-written, never used for tuning --------------------------------------------------
# Written after the guard was finished, in formats and phrasings the generator does not use, as
# an honest check of how far the synthetic figures carry. Markup: [[ENTITY|identifier]].
PROBE = [
    "Client emailed from [[EMAIL|jordan.b+therapy@mailbox.example.com]] to reschedule.",
    "Sent worksheet to [[EMAIL|K_Reyes@clinic-partners.org]] per client request.",
    "Client's work address is [[EMAIL|m.chen@acme-logistics.co.uk]]; do not use.",
    "Mother can be reached at [[PHONE|(617) 555-0142]] after 5pm.",
    "Left voicemail at [[PHONE|617.555.0199]] to confirm Thursday.",
    "Emergency contact: sister, [[PHONE|+1-212-555-0178]].",
    "Client gave cell [[PHONE|415 555 0123]] for reminders.",
    "Intake form lists ssn [[SSN|219-09-9999]] which should have been removed.",
    "Billing note: social security # [[SSN|078-05-1120]] on file.",
    "Client shared her blog [[URL|https://example-journal.net/posts/anxiety]] in session.",
    "Referred to [[URL|www.example-support.org/groups]] for peer groups.",
    "Client found the worksheet at [[URL|example-cbt.com/worksheets]].",
    "Client moved to [[ADDRESS|4417 N. Harbor Blvd]] last month.",
    "Home visit scheduled at [[ADDRESS|22 Winding Creek Road]], Apt 3.",
    "Mail returned from [[ADDRESS|1600 Pennsylvania Avenue]] address on file.",
    "Client lives near [[ADDRESS|908 Sunset Dr]] with roommates.",
    "Pt dob [[DOB|4/5/1979]] confirmed at check-in.",
    "Date of Birth - [[DOB|12-07-1990]] per insurance card.",
    "Client was born [[DOB|July 4th, 1988]] in Ohio.",
    "Verified identity (DOB [[DOB|1979-04-05]]).",
    "Chart reference MRN [[MRN|4455221]] attached to referral.",
    "Per MR# [[MRN|000-448-991]], prior admission noted.",
    "Medical record no. [[MRN|H7781234]] transferred from county.",
    "Patient ID: [[MRN|PT-0098812]] on the release form.",
    "Client texted from [[PHONE|555-867-5309]] at 2am in distress.",
    "Work email [[EMAIL|tlee@example.edu]] should not be in notes.",
    "She gave her number, [[PHONE|(303) 555-0110]], to the group leader.",
    "Called client at [[PHONE|512-555-0187]]; no answer.",
    "Client posted at [[URL|http://forum.example.org/t/12345]].",
    "Letter sent to [[ADDRESS|77 Old Mill Lane]].",
    # Cued identifiers whose number could never be issued or is a well-known test number: a
    # guard on notes that should hold none must still catch them (written before the cued
    # recognizers, and never tuned on).
    "SSN [[SSN|123-45-6789]] was on the intake form.",
    "Intake form listed SSN [[SSN|078-05-1120]] by mistake.",
    "Social security no. [[SSN|000-12-3456]] appears on the scanned page.",
    "Her SS# is [[SSN|666 01 2345]], per the benefits letter.",
    "Client's cell: [[PHONE|555-0100]], texts only.",
    "Call back at [[PHONE|(000) 123-4567]] per the voicemail.",
    "E-mail: [[EMAIL|jsmith@clinicmail]] (work account).",
]

PROBE_NEGATIVE = [
    "BP 120/80, pulse 72; PHQ-9 of 14 and GAD-7 of 11.",
    "Gave client the 988 crisis line and 911 for emergencies.",
    "Client drove on I-95 for 3 hours to visit family.",
    "Met in room 214; session 12 of 16.",
    "Diagnosis F41.1; billed CPT 90837 for 53 minutes.",
    "Sertraline increased from 50 mg to 100 mg on 3/14.",
    "Client is 34 years old and has two children aged 6 and 9.",
    "Next session 11/02/2026 at 10:30.",
    "Client rated session 8/10 and the relationship 9 out of 10.",
    "Client slept 5-6 hours per night, down from 7-8.",
    "Reviewed homework from chapter 4, pages 12-18.",
    "Client described the street where she grew up as quiet.",
    "Discussed the 12-step program and 90 meetings in 90 days.",
    "Client's father died in 1998 when she was 12.",
    "Scheduled 4 sessions between 1/2026 and 3/2026.",
    "Client ran a 5k on Saturday, finishing in 31:20.",
    "Client's goal is to reduce panic attacks from 3 per week to 1.",
    "SRS total 36/40; ORS 24.5.",
    "Discussed apartment 3B noise complaints with the landlord.",
    "Client's birthday is next week and she fears being alone.",
    "Client works at a call centre and takes about 80 calls a shift.",
    "PHQ-9 = 16; GAD-7 = 12; C-SSRS negative.",
    "DSM-5 309.81 (F43.10); ICD-10 Z63.0 noted.",
    "Step 4 of 12; workbook pages 123-145 assigned.",
    "Call 988 or text HOME to 741741 in a crisis.",
    "Sessions on 2026-03-02 and 2026-03-09; phone check-in on 3/16.",
]


def _parse_probe(line: str) -> Example:
    pieces, spans, length, last = [], [], 0, 0
    for match in re.finditer(r"\[\[([A-Z]+)\|(.+?)\]\]", line):
        literal = line[last : match.start()]
        pieces.append(literal)
        length += len(literal)
        entity, value = match.groups()
        spans.append((entity, length, length + len(value)))
        pieces.append(value)
        length += len(value)
        last = match.end()
    pieces.append(line[last:])
    return Example("".join(pieces), tuple(spans))


def _sibling(name: str):
    # By path, like the benchmark loads this file: an installed "tests" package may shadow ours.
    import importlib.util
    import sys
    from pathlib import Path

    path = Path(__file__).with_name(f"{name}.py")
    spec = importlib.util.spec_from_file_location(f"alliance_{name}", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def names_corpus(split: str = "probe") -> list[Example]:
    """PERSON examples: ``dev`` (``fixtures_names.py``, the set the recognizer was tuned on)
    or ``probe`` (``fixtures_names_probe.py``, written apart by another writer, never tuned on).
    """
    if split == "dev":
        module = _sibling("fixtures_names")
        lines = module.NAME_DEV + module.NAME_DEV_NEGATIVE
    else:
        module = _sibling("fixtures_names_probe")
        lines = module.NAME_PROBE + module.NAME_PROBE_NEGATIVE
    return [_parse_probe(line) for line in lines]


def clean_fixture_texts() -> list[str]:
    """Every note, turn and labeled passage of ``data/fixtures``: written with no identifier
    (the PERSON recognizer's false alarms are counted on them)."""
    import json
    from pathlib import Path

    fixtures = Path(__file__).resolve().parents[1] / "data" / "fixtures"
    texts = []
    for name in ("sessions.jsonl", "note_sessions.jsonl"):
        for line in (fixtures / name).read_text().splitlines():
            record = json.loads(line)
            texts += [record["note"]] if record.get("note") else []
            texts += [turn["text"] for turn in record.get("turns") or []]
    passages = (fixtures / "note_passages.jsonl").read_text().splitlines()
    return texts + [json.loads(line)["text"] for line in passages]


def probe_corpus() -> list[Example]:
    """The hand-written probe: 37 positives in unseen formats (7 of them cued identifiers that
    are not valid numbers), 26 hard negatives."""
    return [_parse_probe(line) for line in PROBE + PROBE_NEGATIVE]
