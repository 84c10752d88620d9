"""Held-out probe fixtures for the language guard.

Every text in this module is synthetic and was written by hand for this file.
No text comes from real clinical records. None of them names a person and
none contains contact details, record numbers or calendar dates. People
appear only as roles ("client", "pt", "his aunt").

This is a held-out probe. It must never be used to choose or tune the
guard's thresholds. It only checks, after the fact, that the guard
generalises:

* ``PROBE_NOT_ENGLISH``: ``(iso_639_1_code, note)`` pairs, written as
  progress notes in a language other than English. The guard should
  quarantine them.
* ``PROBE_ENGLISH``: English notes that a language identifier could
  wrongly flag, because they quote another language, are dense with
  abbreviations, mention foreign places or foods, or are short. The
  guard must keep them as English.
"""

PROBE_NOT_ENGLISH = [
    # Spanish (4)
    (
        "es",
        "D: La paciente refiere insomnio de conciliación desde hace tres "
        "semanas y aumento de la ansiedad en el trabajo. Niega ideación "
        "suicida. A: Síntomas compatibles con trastorno de ansiedad "
        "generalizada, estable. P: Continuar TCC semanal y revisar el "
        "registro de pensamientos en la próxima sesión.",
    ),
    (
        "es",
        "Paciente tranquilo, buen contacto visual. Niega SI/HI. Seguimos con el plan acordado.",
    ),
    (
        "es",
        "S: Refiere que discutió con su hermana el fin de semana y que después "
        "no pudo dormir. Puntaje PHQ-9 de 14, sin cambios respecto a la sesión "
        "anterior. O: Afecto ansioso, discurso coherente, orientado en las "
        "tres esferas. A: Depresión moderada persistente. P: Practicar "
        "respiración diafragmática dos veces al día y retomar las caminatas "
        "cortas por la tarde.",
    ),
    (
        "es",
        "Sesión breve por teléfono. Dice sentirse mejor con la nueva rutina de sueño.",
    ),
    # German (3)
    (
        "de",
        "D: Klientin berichtet über anhaltende Grübelgedanken nach dem Verlust "
        "ihrer Arbeitsstelle. Schlaf unruhig, Appetit vermindert. Keine akute "
        "Suizidalität, distanziert sich glaubhaft. A: Depressive Episode, "
        "mittelgradig. P: Verhaltensaktivierung fortsetzen, Wochenplan "
        "gemeinsam erstellen, nächster Termin in einer Woche.",
    ),
    (
        "de",
        "Patient wirkt heute ruhiger, die Stimmung ist leicht gebessert. Keine SI/HI.",
    ),
    (
        "de",
        "Sechste Sitzung. Der Patient schildert Panikattacken in der U-Bahn, "
        "zuletzt zweimal in dieser Woche. Wir haben den Teufelskreis der Angst "
        "besprochen und eine erste Expositionsübung geplant. Hausaufgabe: "
        "Angsttagebuch führen und Atemübung morgens wiederholen.",
    ),
    # French (3)
    (
        "fr",
        "D : La patiente décrit une fatigue importante et une perte d'intérêt "
        "pour ses activités habituelles. Elle pleure facilement depuis le décès "
        "de sa mère. Pas d'idées suicidaires. A : Deuil compliqué possible. "
        "P : Poursuivre le suivi hebdomadaire et introduire un journal de "
        "souvenirs.",
    ),
    (
        "fr",
        "Séance consacrée à la gestion de la colère. Le patient reconnaît avoir "
        "crié sur ses enfants deux fois cette semaine et exprime beaucoup de "
        "honte. Nous avons travaillé sur l'identification des signaux "
        "corporels avant l'escalade et sur la technique du temps mort. À "
        "revoir lors de la prochaine séance.",
    ),
    (
        "fr",
        "Patient arrivé en retard, humeur stable, bonne adhésion au traitement. Rien à signaler.",
    ),
    # Portuguese (2)
    (
        "pt",
        "S: Paciente relata melhora do humor depois de retomar a atividade "
        "física. Ainda tem dificuldade para dormir antes das duas da manhã. "
        "PHQ-9 caiu de 16 para 11. P: Manter a TCC e trabalhar higiene do sono "
        "na próxima consulta.",
    ),
    (
        "pt",
        "A cliente chegou chorosa e contou que o namorado terminou a relação "
        "por mensagem. Negou ideação suicida e tem apoio da família. "
        "Trabalhamos validação emocional e fizemos um plano para os próximos "
        "dias.",
    ),
    # Italian (2)
    (
        "it",
        "Il paziente riferisce un aumento dell'ansia sociale in vista della "
        "presentazione al lavoro. Abbiamo costruito una gerarchia di "
        "esposizione e praticato la ristrutturazione cognitiva sui pensieri "
        "catastrofici. Nessuna ideazione suicidaria riferita.",
    ),
    (
        "it",
        "Seduta annullata dalla paziente, riprogrammata per la settimana prossima.",
    ),
    # Dutch (2)
    (
        "nl",
        "D: Cliënt vertelt dat hij weer meer drinkt sinds de scheiding, "
        "ongeveer vier glazen wijn per avond. Hij is ambivalent over minderen. "
        "A: Motivatie wisselend. P: Motiverende gespreksvoering voortzetten en "
        "een drinkdagboek laten bijhouden.",
    ),
    (
        "nl",
        "Cliënte is vandaag somber en moe en slaapt slecht door het piekeren "
        "over haar zoon. Geen suïcidale gedachten. We hebben "
        "ontspanningsoefeningen gedaan en afgesproken dat ze elke avond tien "
        "minuten gaat wandelen.",
    ),
    # Romanian (1)
    (
        "ro",
        "Pacienta relatează o îmbunătățire a somnului și mai puține atacuri de "
        "panică în ultimele două săptămâni. Neagă ideația suicidară. Continuăm "
        "terapia cognitiv-comportamentală și exercițiile de respirație.",
    ),
    # Danish (1)
    (
        "da",
        "Klienten fortæller, at han har haft det bedre siden sidste samtale, "
        "men at angsten stadig kommer om morgenen. Vi aftalte at fortsætte med "
        "eksponeringsøvelser og at føre dagbog over symptomerne.",
    ),
    # Czech (1)
    (
        "cs",
        "Pacientka uvádí zhoršení nálady a potíže se spánkem po návratu do "
        "práce. Sebevražedné myšlenky popírá. Pokračujeme v KBT, další sezení "
        "za týden.",
    ),
    # Vietnamese (1)
    (
        "vi",
        "Bệnh nhân cho biết tâm trạng đã ổn định hơn, ngủ được khoảng sáu tiếng "
        "mỗi đêm. Không có ý định tự tử. Tiếp tục liệu pháp nhận thức hành vi "
        "và hẹn tái khám vào tuần sau.",
    ),
]

PROBE_ENGLISH = [
    # --- Quotes another language (14) ---
    # Spanish proverb
    'Client recalled her grandmother always saying "no hay mal que por bien '
    'no venga" and said it helps her reframe the layoff as a chance to '
    "retrain. Explored whether this reframe feels genuine or forced; she said "
    "mostly genuine. Mood improved, sleep still fragmented. Continue CBT.",
    # Polish saying
    "Pt described his father's habit of ending arguments with \"nie mój cyrk, "
    'nie moje małpy." He laughed while telling it but then became tearful '
    "about how rarely his father showed feelings. Processed grief and the "
    "wish for closeness. No SI/HI.",
    # Tagalog
    'Client said her mother texts "ingat ka palagi" every night and that she '
    "finds it both comforting and smothering. We discussed setting a boundary "
    "around late-night calls without rejecting the care behind them. "
    "Role-played the conversation twice.",
    # Vietnamese proverb
    'Pt shared that his aunt used to tell him "có công mài sắt, có ngày nên '
    'kim" when he struggled in school. He now hears it as pressure rather '
    "than encouragement. Identified the core belief that rest equals failure. "
    "Homework: schedule one deliberately unproductive hour each day.",
    # Yiddish
    'Client joked "mann tracht, un Gott lacht" about her carefully planned '
    "semester falling apart. Beneath the humor she reports significant shame "
    "and avoidance of her advisor. Worked on a graded plan to send one email "
    "this week. Affect brightened by the end of session.",
    # Haitian Creole proverb
    'Pt quoted the proverb "dèyè mòn gen mòn" to describe how each problem '
    "seems to reveal another one behind it. Validated the exhaustion of "
    "ongoing housing stress. Problem-solving focused on the single most urgent "
    "item, the letter from the landlord. Safety plan reviewed, no changes.",
    # Arabic transliteration
    'Client opened with "alhamdulillah, ala kulli hal" when asked about her '
    "week, then described three nights of poor sleep. Discussed how she uses "
    "faith as a coping resource and whether she also feels permission to act "
    "on what is in her control. Plans to resume walking with a neighbor.",
    # Italian song line
    'Pt hummed a line his nonna used to sing, "vola, colomba bianca, vola," '
    "and said he had not thought of it in years. The memory brought up warmth "
    "and also guilt about not visiting her before she died. Allowed space for "
    "grief. He will bring a photo next session.",
    # German motto
    "Client's father's motto was \"Ordnung muss sein,\" and she connects it to "
    "her rigid cleaning routines, which now take about two hours every night. "
    "Introduced the ERP rationale for OCD symptoms. She is skeptical but "
    "willing to try delaying one ritual by ten minutes.",
    # Portuguese proverb
    'Pt mentioned that his mother ends every call with "quem espera sempre '
    'alcança," which he finds kind but hard to believe right now. Explored '
    "homesickness alongside his isolation since moving for work. Brainstormed "
    "ways to join a local community group. Mood low but stable.",
    # Korean romanized
    'Client said her mom always told her "gwaenchana, gwaenchana" when she '
    "cried as a kid, and she now says it to herself during panic attacks. "
    "Reinforced this as a self-soothing skill and paired it with paced "
    "breathing. Panic frequency down to one episode this week.",
    # Spanish prayer
    'Pt said she quietly prays "Padre nuestro, que estás en el cielo" on the '
    "bus when she feels anxiety rising, and that it grounds her. We talked "
    "about it as a form of focused attention and added a second strategy, "
    "naming five things she can see around her.",
    # French phrase
    "Client described his partner's frequent \"c'est la vie\" as dismissive "
    "when he tries to talk about work stress. Practiced expressing a need with "
    "I-statements instead of withdrawing. He agreed to ask for twenty minutes "
    "of undivided listening this weekend.",
    # Japanese romanized
    'Pt said her grandfather\'s phrase "shikata ga nai" used to calm her, but '
    "lately it feels like giving up. Explored the difference between "
    "acceptance and resignation. Introduced radical acceptance from DBT while "
    "also identifying two things she can still change at home.",
    # --- Abbreviation-dense (6) ---
    "Pt c/o ↑ anxiety x2 wks, ↓ sleep (~4 hrs/night), ↓ appetite. Denies "
    "SI/HI. PHQ-9 = 15 (↑ from 11). GAD-7 = 17. Plan: cont CBT q wk, f/u w/ "
    "PCP re: sleep, safety plan reviewed.",
    "S: c/o panic attacks x3 this wk, triggered by driving on hwy. O: A&Ox3, "
    "affect anxious, speech nl rate. A: Panic d/o w/ agoraphobia, sx ↑. "
    "P: interoceptive exposure → in vivo next wk, f/u 1 wk.",
    "Pt reports EtOH ↓ from ~6 drinks/day → 2-3. No w/d sx. Attending AA 2x "
    "per wk. Cravings mod, worst in pm. MI cont'd. f/u 1 wk, coordinate w/ "
    "psych re: naltrexone.",
    'Cl late 15 min. Mood "meh," affect constricted. Passive SI, no '
    "plan/intent, protective factors intact (kids, job). Safety plan updated. "
    "Sleep ↔. Meds: sertraline 100 mg, adherent. RTC 1 wk, sooner prn.",
    "F/u re: ADHD sx. Pt c/o ↓ focus at work, missed 3 deadlines. Started "
    "planner per last session → used it 4 of 7 days. ↑ irritability w/ "
    "partner. Plan: cont skills tx, consider ref for med eval.",
    "Pt c/o nightmares ~5x/wk since MVA. PCL-5 = 48. Hypervigilance ↑, avoids "
    "driving → relies on bus. No SI/HI. Began CPT psychoed, impact stmt "
    "assigned. f/u 1 wk.",
    # --- Mentions foreign places, foods, things (5) ---
    "Client reported a good weekend: went to the mercado with her sister, "
    "cooked pozole together, and did not argue once. She noticed her "
    "shoulders relax while chopping vegetables. Will use cooking as a planned "
    "pleasant activity.",
    "Pt ate pho at the little place near his apartment after last session and "
    "said it was the first meal out he had enjoyed since the breakup. "
    "Discussed small rewards and rebuilding routines. Mood rated 5 out of 10, "
    "up from 3.",
    "Client baked Oma's Apfelstrudel for the first time since the funeral and "
    "cried while rolling the dough, but said it felt like keeping her close. "
    "Normalized waves of grief. Plan to continue grief work and start a "
    "memory box.",
    "Pt described going to the Biergarten with coworkers and leaving early "
    "when the crowd felt overwhelming. Reviewed the exit as avoidance versus "
    "self-care; he decided next time to stay twenty minutes longer and use "
    "grounding.",
    "Client has started going to the banya on Saturdays with a friend and says "
    "the heat and cold plunge leave her calm for hours. She also makes kimchi "
    "jjigae on Sundays as part of behavioral activation.",
    # --- Ordinary, short-ish (5) ---
    "Client cancelled today and will reschedule for next week.",
    "Mood better this week. Sleeping through the night. No safety concerns.",
    "Brief check-in by phone. Stable, using coping skills, denies SI.",
    "Session focused on work stress. Homework reviewed and completed.",
    "Tearful at times but engaged. Continue weekly sessions.",
]
