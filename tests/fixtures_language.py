"""Synthetic, hand-written evaluation set for the language guard (no real people).

The guard is meant to quarantine session notes that are not written in English before they
reach the English-only pipeline. This module holds two small sets of whole session notes
(1-6 sentences each, progress-note style, sometimes with DAP or SOAP headers), every one of
them invented and written by hand, one by one, on varied topics (anxiety, grief, couples work,
substance use, sleep, trauma, adolescents, family). There are no names, phone numbers, email
addresses, record numbers or dates in them; people are "client", "pt", "her sister" and so on.

``NOT_ENGLISH``
    40 ``(iso_639_1_code, text)`` tuples of notes written entirely (section letters and the odd
    English clinical abbreviation or drug name aside) in another language: 8 Spanish, 6 German,
    6 French, 5 Portuguese, 5 Italian, 4 Dutch, 2 Polish, 2 Swedish, 2 Turkish. About a third are
    very short (one or two sentences, 60-150 characters); the rest are 150-600 characters.

``ENGLISH_HARD``
    50 English notes that a naive language identifier may get wrong, in four groups (in this
    order): 12 that quote another language (the quote at most about a third of the note), 12
    very short ones (20-80 characters), 14 dense with abbreviations and shorthand, and 12 in
    plain but unusual English (lists, fragments, transcript-like "C: ... T: ...", many numbers).
    Every one of them must be scored as English.

Use: run the guard over both sets and report the false-quarantine rate on ``ENGLISH_HARD``
(English notes the guard flags as not English) and the miss rate on ``NOT_ENGLISH`` (foreign
notes it lets through as English), the latter optionally broken down by language code.
"""

from __future__ import annotations

# ---------------------------------------------------------------------------------------------
# Notes in other languages: (ISO 639-1 code, text)
# ---------------------------------------------------------------------------------------------

NOT_ENGLISH: list[tuple[str, str]] = [
    # Spanish (8)
    (
        "es",
        "Cliente refiere ansiedad moderada antes de las reuniones de trabajo. Se acuerda "
        "practicar respiración diafragmática a diario.",
    ),
    (
        "es",
        "D: La clienta acude puntual y relata que desde el fallecimiento de su madre apenas sale "
        "de casa. Llora con facilidad al hablar de los últimos meses. A: Duelo prolongado con "
        "rasgos depresivos; niega ideación suicida. P: Continuar sesiones semanales y explorar "
        "rituales de despedida.",
    ),
    (
        "es",
        "Sesión de pareja. Ambos describen discusiones frecuentes por el reparto de las tareas "
        "domésticas y la crianza de los hijos. Se observa un patrón de persecución y retirada: "
        "ella insiste, él se encierra en silencio. Ella dice sentirse sola en la casa; él dice "
        "que haga lo que haga nunca es suficiente. Ambos coinciden en que las peleas empeoraron "
        "desde que nació el segundo hijo y apenas duermen. Se les propone un tiempo fuera "
        "pactado cuando suba la tensión y retomar la conversación al día siguiente, en un "
        "momento tranquilo y sin los niños delante.",
    ),
    (
        "es",
        "Paciente informa doce días de abstinencia de alcohol. Reconoce deseo intenso de beber "
        "los fines de semana, sobre todo en las comidas familiares. Se revisa el plan de "
        "prevención de recaídas y se refuerza la asistencia al grupo de apoyo.",
    ),
    (
        "es",
        "Adolescente de 15 años acude con su madre. Poco colaborador al inicio; después habla del "
        "acoso que sufre en el instituto.",
    ),
    (
        "es",
        "S: Refiere insomnio de conciliación, tarda más de una hora en dormirse casi todas las "
        "noches. O: Aspecto cansado, discurso coherente y organizado. A: Insomnio asociado a "
        "preocupaciones laborales. P: Pautas de higiene del sueño, restricción del tiempo en "
        "cama y revisar el diario de sueño en la próxima cita.",
    ),
    (
        "es",
        "PHQ-9 de 16 y GAD-7 de 12. La clienta niega ideación autolítica y heteroagresiva "
        "(SI/HI negativos). Se inicia TCC para la depresión y se pacta activación conductual "
        "con dos actividades agradables por semana, empezando por pasear con su hermana.",
    ),
    (
        "es",
        "Se trabaja con técnicas de anclaje tras un recuerdo intrusivo del accidente que "
        "aparece al oír frenazos en la calle. Termina la sesión más tranquila y con un plan "
        "para usar los cinco sentidos cuando vuelva la imagen.",
    ),
    # German (6)
    (
        "de",
        "Klientin berichtet von anhaltender Niedergeschlagenheit und Antriebslosigkeit seit dem "
        "Umzug. Schlaf unruhig, Appetit vermindert. Keine akute Suizidalität. Vereinbart wurde "
        "eine Tagesstruktur mit festen Aufstehzeiten; nächste Sitzung in einer Woche.",
    ),
    (
        "de",
        "Klient erschien nicht zum Termin und war telefonisch nicht erreichbar. Erneute "
        "Kontaktaufnahme geplant.",
    ),
    (
        "de",
        "Familiengespräch mit beiden Eltern und dem 13-jährigen Sohn. Die Eltern schildern "
        "häufige Wutausbrüche, sobald es um Hausaufgaben oder Bildschirmzeit geht. Der "
        "Jugendliche fühlt sich ständig kontrolliert und nicht ernst genommen. Gemeinsam wurden "
        "drei klare Regeln mit nachvollziehbaren Konsequenzen erarbeitet. Die Mutter wirkt "
        "erschöpft und gibt an, seit Monaten kaum Zeit für sich zu haben; der Vater zieht sich "
        "bei Streit eher zurück. Beim nächsten Termin soll zunächst nur mit den Eltern über ihre "
        "Zusammenarbeit in der Erziehung gesprochen werden.",
    ),
    (
        "de",
        "D: Klient schildert erstmals Einzelheiten des Überfalls und zeigt dabei deutliche "
        "Anspannung, die Hände zittern. A: PTBS-Symptomatik mit Vermeidung und Übererregung. "
        "P: Stabilisierungsübungen fortsetzen, Übung zum sicheren Ort als Hausaufgabe, "
        "Konfrontation erst nach ausreichender Stabilisierung.",
    ),
    (
        "de",
        "Klientin beschreibt eine Panikattacke an der Kasse im Supermarkt, mit Herzrasen und "
        "Angst, ohnmächtig zu werden. Psychoedukation zum Teufelskreis der Angst ist erfolgt; "
        "Atemübung eingeübt.",
    ),
    (
        "de",
        "Patient nimmt seit vier Wochen Sertralin 50 mg und berichtet über leichte Übelkeit. "
        "Cannabiskonsum nach eigenen Angaben auf zwei Abende pro Woche reduziert. Die Motivation "
        "zur weiteren Reduktion ist ambivalent; Vor- und Nachteile wurden gemeinsam abgewogen.",
    ),
    # French (6)
    (
        "fr",
        "La cliente rapporte une anxiété importante liée à son nouveau poste, avec des "
        "ruminations le soir et des réveils nocturnes. Nous avons travaillé sur la "
        "restructuration cognitive des pensées catastrophistes. Tâche : noter chaque jour trois "
        "situations difficiles et les pensées associées.",
    ),
    (
        "fr",
        "Séance annulée par le patient, reportée à la semaine prochaine à la même heure.",
    ),
    (
        "fr",
        "Le client évoque le décès de son frère, survenu il y a plusieurs mois. Il dit ne "
        "ressentir « rien » et s'en sent coupable. Nous explorons les différentes formes que peut "
        "prendre le deuil. Pas d'idées suicidaires exprimées.",
    ),
    (
        "fr",
        "Entretien de couple. Madame reproche à Monsieur son manque de disponibilité ; Monsieur "
        "se sent critiqué en permanence. Travail sur l'écoute active et la reformulation. Les "
        "deux partenaires acceptent de prévoir un moment d'échange hebdomadaire, sans écrans, "
        "pour parler de ce qui va bien et de ce qui coince.",
    ),
    (
        "fr",
        "Adolescente de 16 ans, scarifications récentes sur l'avant-bras. Plan de sécurité revu "
        "avec elle et sa mère.",
    ),
    (
        "fr",
        "S : Le patient dit mieux dormir depuis qu'il ne boit plus de café le soir. O : Contact "
        "adapté, humeur légèrement triste. A : Amélioration partielle du trouble du sommeil. "
        "P : Poursuivre la TCC-I et réévaluer l'ISI dans deux semaines.",
    ),
    # Portuguese (5)
    (
        "pt",
        "Cliente relata crises de ansiedade no transporte público, com taquicardia e sensação de "
        "desmaio. Iniciada exposição gradual a partir de uma hierarquia de situações. Tarefa: "
        "percorrer duas paradas de ônibus acompanhada e registrar o nível de ansiedade.",
    ),
    (
        "pt",
        "Paciente compareceu sóbrio e refere trinta dias sem uso de cocaína. Mantém a "
        "participação no grupo semanal.",
    ),
    (
        "pt",
        "Atendimento familiar. A mãe descreve o filho como irritado e isolado desde a separação "
        "dos pais. O adolescente fala pouco, mas concorda em voltar na próxima semana para uma "
        "sessão individual. A mãe foi orientada a evitar discutir o processo de divórcio na "
        "frente dele.",
    ),
    (
        "pt",
        "D: Paciente chorosa, relata culpa pela morte do pai no hospital. A: Luto complicado, sem "
        "ideação suicida no momento. P: Manter acompanhamento semanal e trabalhar uma carta de "
        "despedida.",
    ),
    (
        "pt",
        "Sessão por videochamada. Humor estável, dorme melhor e mantém a rotina de caminhadas.",
    ),
    # Italian (5)
    (
        "it",
        "La paziente riferisce umore deflesso e scarsa energia da circa due mesi, con riduzione "
        "degli interessi e ritiro sociale. Negata ideazione suicidaria. Si concorda un programma "
        "di attivazione comportamentale e si valuta l'invio allo psichiatra per una consulenza "
        "farmacologica.",
    ),
    (
        "it",
        "Il cliente non si è presentato e non ha avvisato. Verrà ricontattato nei prossimi giorni.",
    ),
    (
        "it",
        "Seduta di coppia. Emerge il tema del tradimento scoperto di recente: lei è molto "
        "arrabbiata, lui appare chiuso e difensivo. Si stabiliscono alcune regole di base per le "
        "discussioni a casa e si propone di lavorare sulla ricostruzione della fiducia nelle "
        "prossime sedute.",
    ),
    (
        "it",
        "Il paziente racconta incubi ricorrenti legati all'incidente stradale. Eseguita una "
        "sessione di EMDR sul ricordo target; SUD sceso da 8 a 4 a fine seduta. Procedura ben "
        "tollerata.",
    ),
    (
        "it",
        "Ragazzo di 14 anni, rifiuto scolastico da tre settimane. La prossima volta colloquio con "
        "i genitori.",
    ),
    # Dutch (4)
    (
        "nl",
        "Cliënte vertelt dat ze de afgelopen week vaker heeft gepiekerd over haar gezondheid en "
        "meerdere keren de huisarts heeft gebeld. We hebben de piekermomenten in kaart gebracht "
        "en een vast piekerkwartier per dag afgesproken.",
    ),
    (
        "nl",
        "Cliënt heeft afgezegd wegens ziekte. Nieuwe afspraak wordt volgende week ingepland.",
    ),
    (
        "nl",
        "S: Cliënt slaapt gemiddeld vier uur per nacht en voelt zich overdag uitgeput. "
        "O: Vermoeid, traag in spraak en beweging. A: Slapeloosheid bij depressieve klachten. "
        "P: Slaapdagboek bijhouden, vaste opstaantijd aanhouden en dit volgende sessie bespreken.",
    ),
    (
        "nl",
        "Gesprek met cliënt en zijn zus over het alcoholgebruik. De zus maakt zich vooral zorgen "
        "over rijden onder invloed. Cliënt erkent het probleem gedeeltelijk en is bereid een "
        "afspraak bij de verslavingszorg te maken.",
    ),
    # Polish (2)
    (
        "pl",
        "Pacjentka zgłasza nasilony lęk i trudności z zasypianiem od czasu utraty pracy. Nie "
        "zgłasza myśli samobójczych. Ustalono codzienne ćwiczenia relaksacyjne oraz prowadzenie "
        "dziennika myśli do omówienia na kolejnej sesji.",
    ),
    (
        "pl",
        "Sesja odwołana przez klienta z powodu choroby. Kolejne spotkanie za tydzień.",
    ),
    # Swedish (2)
    (
        "sv",
        "Klienten beskriver ökad oro och ältande inför skilsmässan. Hon sover dåligt men äter "
        "normalt. Vi gick igenom strategier för att hantera oro och kom överens om att hon ska "
        "prova att skjuta upp grubblandet till en bestämd tid varje kväll.",
    ),
    (
        "sv",
        "Klienten uteblev från besöket utan att höra av sig. En ny tid skickas per brev.",
    ),
    # Turkish (2)
    (
        "tr",
        "Danışan son iki haftadır uykusuzluk ve yoğun kaygı yaşadığını belirtti. Annesinin "
        "hastalığı nedeniyle kendini suçlu hissettiğini ifade etti. İntihar düşüncesi yok. Nefes "
        "egzersizleri ve düşünce kaydı ödev olarak verildi.",
    ),
    (
        "tr",
        "Danışan bugünkü seansa gelmedi ve önceden haber vermedi. Kendisine yeniden ulaşılacak.",
    ),
]

# ---------------------------------------------------------------------------------------------
# English notes a naive identifier may get wrong (all must be scored as English)
# ---------------------------------------------------------------------------------------------

# English notes quoting another language (the quote at most about a third of the note).
_QUOTES_OTHER_LANGUAGE: list[str] = [
    'Client tearful when describing the week; said in Spanish, "no puedo más," then explained '
    "that she can't take it anymore. Denies SI, states she meant exhaustion rather than "
    "wanting to die. Safety plan reviewed and updated.",
    'Pt recalled that her grandmother used to say "Das Leben ist kein Ponyhof" whenever she '
    "complained as a child. Explored how this shaped her belief that distress should be hidden "
    "from others. Plan: continue schema work next session.",
    'Client has been listening to the French song "Ne me quitte pas" on repeat since the '
    "breakup. We discussed rumination and how music can both soothe and deepen a low mood. "
    "HW: put together a playlist for calmer evenings.",
    'Father, who speaks mostly Portuguese at home, calls the client "meu filho querido" on their '
    "daily phone calls, which the client finds both comforting and suffocating. Worked on "
    "setting limits around the calls while keeping the warmth.",
    'Client used the Italian word "sprezzatura" to describe how she wants to come across at '
    "work: effortless, never seen trying. Challenged the perfectionism underneath it. Cognitive "
    "restructuring worksheet assigned.",
    'Adolescent said his friends call him "el callado" at school. He laughed about it but looked '
    "away. Explored peer rejection and social anxiety. Will invite his mother to the last part "
    "of next session.",
    'Couples session. Husband repeated "c\'est la vie" whenever a conflict came up; wife '
    "experiences this as dismissive. Practiced the speaker-listener technique. Both agreed to "
    "one 20-minute check-in each week.",
    'Client shared a Dutch saying her late father used, "doe maar normaal," and linked it to '
    "her fear of standing out or being seen. Grief work continued; she brought a photo of him "
    "to the session and talked about it for a long while.",
    'Pt reported that her mother-in-law greets her with "mashallah" and then comments on her '
    "weight. Discussed boundaries and assertive responses. Pt practiced two short scripts in "
    "role play and felt more confident by the end.",
    'Client in recovery quoted a Polish phrase his sponsor likes, "nie mój cyrk, nie moje '
    'małpy," meaning not my circus, not my monkeys. Using it as an anchor for stepping back '
    "from family drama. 45 days sober, attending meetings 3x/wk.",
    'Client switched into Spanish when describing the assault ("me quedé congelada") and stayed '
    "in English otherwise. Noted the freeze response and normalized it. Grounding practiced; "
    "distress went from 7/10 to 4/10.",
    'Client wrote "ich bin müde" at the top of her sleep diary every night this week. Sleep '
    "onset latency averaging 50 min. Reviewed stimulus control; she agreed to get out of bed "
    "after 20 min awake.",
]

# Very short English notes (20-80 characters).
_VERY_SHORT: list[str] = [
    "Pt no-show, no call.",
    "Cancelled, rescheduled for next week.",
    "Brief check-in by phone, pt stable.",
    "Session cancelled by clinician, illness.",
    "Late cancel. Fee waived per policy.",
    "Pt arrived 25 min late; abbreviated session.",
    "Intake completed. Consent forms signed.",
    "Crisis call, pt safe, plan reviewed.",
    "Termination session. Goals met.",
    "Collateral call with her sister, pt consented.",
    "Telehealth, audio only. Mood ok, sleeping better.",
    "No change. Continue current plan.",
]

# English notes dense with abbreviations and shorthand.
_ABBREVIATION_DENSE: list[str] = [
    "Pt c/o ↑anx, SI/HI denied, PHQ-9 14→11, f/u 1wk, cont CBT, HW: TR x3",
    "S: pt rpts sx ↓. O: A&Ox3, affect constr. A: MDD, mod. P: cont tx, RTC 2wk",
    "D: pt w/ ↑irritability, ↓sleep (~4h/night), EtOH 3-4 drinks/d x2wk. A: r/o AUD, mild. "
    "P: AUDIT next visit, MI, f/u 1wk.",
    "S: c/o nightmares 4-5x/wk, hypervigilance. O: startle +, fidgety. A: PTSD, sx stable. "
    "P: cont CPT, sess 6/12, PCL-5 next wk.",
    "GAD-7 15, PHQ-9 9. No SI/HI/AVH. Sertraline 50mg qd, adherent, mild GI s/e. Cont tx, "
    "coord w/ PCP re: titration.",
    "Pt + partner. Conflict ↑ re: $$. 4 horsemen reviewed, crit/defens. noted. HW: soft "
    "startup x2. RTC 1wk.",
    "Adol, 15 y/o, s/p SH (superficial cuts) 3d ago. SI passive, no plan/intent. Safety plan "
    "updated w/ pt + mom. C-SSRS low risk. f/u 48h.",
    "MSE: WNL except mood 'meh', affect flat. Insight fair, judgment fair. Dx: F32.1. Tx: BA, "
    "sleep hygiene, cont q1wk.",
    "S/O: pt calm, coop, good EC. A: GAD, improving, GAD-7 ↓ 12→8. P: taper to q2wk, relapse "
    "prev plan.",
    "Grief f/u. Pt ~6 mo post-loss. ↓appetite, ↑crying spells, denies SI. PG-13 32. P: cont "
    "grief tx, BA.",
    "Pt c/o insomnia, SOL 60+ min, WASO 2h, TST ~5h. ISI 19. Start CBT-I, sleep restriction "
    "TIB 6h, SD daily.",
    "SUD f/u. 21d abstinent from opioids, on bup/nlx 16/4 mg. UDS neg x2. Cravings 3/10. Cont "
    "IOP 3x/wk, NA mtgs.",
    "DBT skills grp. Pt participated, reviewed TIPP + DEAR MAN. Diary card: SH urges 2/5, "
    "acted 0. HW: chain analysis x1.",
    "Fam sess. Pt (12 y/o) + parents. ↑tantrums at bedtime. Labeled praise modeled. Parents "
    "to track ABC log x7d.",
]

# Plain but unusual English: lists, fragments, transcript-like exchanges, many numbers.
_UNUSUAL_PLAIN: list[str] = [
    "C: I don't know, it's just... everything. T: Everything feels like too much right now? "
    "C: Yeah. Work, home, all of it. T: Let's pick one piece to look at today.",
    "Goals reviewed:\n1. In bed by 11 pm - met 5 of 7 nights\n2. Walk 20 min - met 3 of 7\n"
    "3. Call her sister - done once\nPlan: keep goals 1 and 2, add one social activity.",
    "Scores this session: PHQ-9 = 7 (was 18 at intake), GAD-7 = 6 (was 14), WSAS = 10 (was "
    "27). ORS 32.5, SRS 38. Reliable improvement on all measures.",
    "Tired. Flat. Says nothing helps. Then, near the end, a small smile about the dog. Held "
    "onto that. Next week: more on the dog, less on the job.",
    "T: What happened after the argument? C: I left. Drove around for an hour. T: And then? "
    "C: Came back, said sorry. Same as always. T: Same as always? C: Yeah.",
    "Homework check: thought records x4 (of 5 assigned), exposure ladder steps 1-3 done, step 4 "
    "(elevator, 3 floors) tried twice, SUDS 70 then 45.",
    "Topics: - moving out of parents' house - money - the break-up - whether to go back to "
    "school. Most of the hour spent on money. Client calmer at the end.",
    "Breathing practice: 4 in, 7 hold, 8 out, x6 rounds. Heart rate 96 before, 78 after (from "
    "the client's watch). Client surprised it worked.",
    "Safety plan, step by step: warning signs (not answering texts, staying in bed), coping "
    "(shower, music, walk), people (her sister, a neighbor), professionals (crisis line), means "
    "(meds locked away by partner).",
    "Week 8 of 12. Sessions attended: 7. Missed: 1. Avg sleep 6.2 h, up from 4.9 h at baseline. "
    "Drinks per week: 9, down from 21.",
    "Okay session. Not great, not bad. Client says mom is 'on his case' about grades and dad "
    "'doesn't care.' Some of both probably true. Will ask about a family meeting.",
    "Q: Any thoughts of hurting yourself? A: No. Q: Anyone else? A: No. Q: Sleeping? A: Better, "
    "maybe six hours. Q: Eating? A: Yes, most days.",
]

ENGLISH_HARD: list[str] = (
    _QUOTES_OTHER_LANGUAGE + _VERY_SHORT + _ABBREVIATION_DENSE + _UNUSUAL_PLAIN
)
