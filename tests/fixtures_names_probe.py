"""Held-out probe for the PERSON recognizer of the identifier guard (synthetic, no real people).

Markup: [[PERSON|text]] marks a name span. Written independently of the recognizer and of the
development set; never used for tuning.
"""

NAME_PROBE = [
    # Anglo (incl. names that are also common English words)
    "Client reports that her stepdad [[PERSON|D'Andre]] yelled at her again over the weekend.",
    "Client's friend [[PERSON|Will]] drove her to the ED on Saturday night.",
    "Coworker named [[PERSON|Hope]] has been covering the client's shifts since the DUI.",
    (
        "Client's daughter, [[PERSON|Summer]], turns six next week and client wants to be "
        "sober for the party."
    ),
    "Client's wife [[PERSON|Joy]] joined the last 20 minutes of session.",
    "Pt's aunt [[PERSON|Dawn]] has temporary guardianship of the two younger kids.",
    # Hispanic / Latino
    "Pt stated grandma [[PERSON|Lucía]] has been caring for the kids since March.",
    "Client and his fiancée [[PERSON|Marisol Ortega]] keep arguing about wedding costs.",
    "Writer left a voicemail for probation officer [[PERSON|Teresa Villanueva]] re: court date.",
    "Vitals taken by [[PERSON|J. Castillo]], RN.",
    "Electronically signed by [[PERSON|Marcus Delacroix-Reyes]], LPC, 03/14/2024",
    # Yoruba / Igbo / Akan
    "The client's niece [[PERSON|Adaeze]] moved in with the family last month.",
    "Coach [[PERSON|Okafor]] benched the client after the fight in the locker room.",
    "Ms. [[PERSON|Adeyemi]] from the school district requested records; no ROI on file.",
    "She is seeing someone whose name is [[PERSON|Kofi Asante]]; they met at church.",
    "Client stated, 'I can't keep lying to [[PERSON|Temitope]] about where the money goes.'",
    # Somali / Ethiopian / Eritrean
    "[[PERSON|Hodan]] arrived 15 minutes late and appeared tearful.",
    "Client's parents, [[PERSON|Tigist]] and [[PERSON|Dawit Bekele]], attended the family session.",
    "Uncle [[PERSON|Abdirahman]] interpreted for grandmother; writer advised a professional.",
    "Pt says his older brother [[PERSON|Yonas]] keeps pressuring him to drop out of college.",
    "Pt c/o poor sleep, fights w/ cousin [[PERSON|Ubah]] re: rent, denies SI.",
    # Arabic
    "Client carpooled to group with [[PERSON|Bilal]] and his sister.",
    "Dr [[PERSON|Mansour]] adjusted the quetiapine dose after the ED visit.",
    "Client's ex-wife [[PERSON|Rania Al-Khatib]] has filed for full custody.",
    "[[PERSON|Nour]] described the panic attack as 'like drowning on dry land.'",
    "T: And what did he say?\nC: Nothing. I told [[PERSON|Yousef]] I needed space and he laughed.",
    # Hindi / Tamil / Bengali
    "[[PERSON|Ayaan]] said he was too tired to do the thought record this week.",
    "She said '[[PERSON|Priyanka]] always takes Mom's side,' then became tearful.",
    "Per school nurse [[PERSON|Lakshmi Subramanian]], client has visited the office daily.",
    "Reviewed discharge summary from Dr. [[PERSON|R. Chatterjee]] at the inpatient unit.",
    (
        "T: Who else was at the party?\n"
        "C: Just [[PERSON|Arnab]] and [[PERSON|Navid]] from work. I left early."
    ),
    # Chinese / Korean / Japanese / Vietnamese
    "Dr. [[PERSON|Nakamura]] increased sertraline to 100 mg daily.",
    "c/o conflict w/ roommate [[PERSON|Seo-yeon]] re: noise, dishes.",
    "Note entered by [[PERSON|Thanh Nguyen]], MSW, on behalf of the treatment team.",
    "Client's grandfather [[PERSON|Wei]] was recently diagnosed with dementia.",
    "Pt's sister-in-law [[PERSON|Linh]] watches the baby on weekdays.",
    "Client feels his supervisor [[PERSON|Min-jun Park]] singles him out in meetings.",
    # Polish / Russian / Ukrainian
    "Pt's ex-husband [[PERSON|Grzegorz]] has not paid child support since the fall.",
    "Mrs. [[PERSON|Kowalczyk]] called to cancel on the client's behalf.",
    "CLIENT: Honestly, [[PERSON|Oksana]] is the only one who checks on me anymore.",
    "Client was relieved that [[PERSON|Dmitri]] agreed to try couples counseling.",
    "Rabbi [[PERSON|Levitsky]] visited the client twice during the inpatient stay.",
    # Irish / Scottish
    "Client has been meeting weekly with Father [[PERSON|Declan]] at the parish.",
    "Pt's caseworker [[PERSON|Siobhan O'Connell]] will attend the IEP meeting.",
    "Co-signed: [[PERSON|Aisling Murphy]], LICSW (clinical supervisor)",
    "Client and [[PERSON|Eilidh]] have been friends since primary school.",
    "[[PERSON|Mary-Kate]] (client's NA sponsor) is listed as the emergency contact.",
    # Dutch / Scandinavian
    "[[PERSON|Ingrid Solberg]], PsyD",
    "Client said her math teacher, Mr. [[PERSON|Halvorsen]], let her retake the test.",
    "Client's girlfriend [[PERSON|Sanne de Vries]] is worried about his drinking.",
    "Mx. [[PERSON|Bakker]] facilitates the Thursday peer support group the client attends.",
    # Portuguese
    "Client's father [[PERSON|Tiago Mourão]] was released from prison in June.",
    "Client's avó [[PERSON|Conceição]] raised her until age ten.",
    "Pt said [[PERSON|Gonçalo]] has been texting him nonstop since the breakup.",
    "Client has a new boyfriend named [[PERSON|Mateus]] whom she met online.",
    # Filipino
    "Tita [[PERSON|Lorna]] has offered to let the client stay with her for now.",
    "Client's coworker [[PERSON|Jericho Dizon]] covered for him when he left early.",
    "Pt's mother, [[PERSON|Maricel]], reports he has not eaten dinner with the family in weeks.",
    "Client's kuya, nicknamed [[PERSON|Jun-Jun]] by the family, is deployed overseas.",
    # Turkish
    "Client described a shouting match with her neighbor [[PERSON|Burak Yıldız]] over parking.",
    "[[PERSON|Elif]]'s birthday is Saturday and the client fears being left out again.",
    "Pt reports classmate [[PERSON|Emre]] has been sharing screenshots of her messages.",
    "Spoke w/ step-sister [[PERSON|Zeynep]] (ROI on file) re: pt's missed doses.",
    # Persian
    "Pt's landlord, [[PERSON|Farhad Karimi]], has threatened eviction twice.",
    "Client described [[PERSON|Shirin]] as 'the sister I never had.'",
    "Client's stepmother [[PERSON|Parisa]] refuses to let him visit on weekends.",
    # Native-American-style modern first names
    "Client's partner [[PERSON|Aiyana]] has been encouraging her to go back to school.",
    "[[PERSON|Dakota]] texted the client at 2 a.m. asking to meet up.",
    "Client's cousin [[PERSON|Cheyenne]] invited him to the family reunion next month.",
    "Client's foster sister [[PERSON|Nizhoni]] was moved to a different placement.",
]

NAME_PROBE_NEGATIVE = [
    # words that double as names, used as words
    "Will follow up with PCP regarding sleep study results.",
    "Client expressed hope that the new job will ease some of the financial stress.",
    "Client said she has lost faith in the process since the custody hearing.",
    "Pt may benefit from a higher level of care if SI recurs.",
    "Client reports feeling joy for the first time in months while gardening.",
    "Grace period on rent ends Friday and client is anxious about eviction.",
    "Bill from the pharmacy was higher than expected, so client skipped two doses.",
    "He was frank about his drinking for the first time in treatment.",
    "Client woke at dawn most days this week and could not fall back asleep.",
    "Client described her mood as 'sunny' today; affect congruent.",
    "Over the summer client plans to work at a day camp.",
    "Autumn tends to bring seasonal low mood per client's history.",
    "Client is tired of having to chase his ex for the kids' schedule.",
    "Pt said some guy at the bus stop started yelling, which triggered a panic attack.",
    "Writer gave client a pat on the back for finishing the exposure hierarchy.",
    "Art therapy group met in the community room; client participated fully.",
    "Rose from bed only to use the bathroom on the worst days, per client.",
    "Client wants to mark her sobriety date with a small celebration.",
    # months, weekdays, holidays
    "May was a difficult month; client missed three sessions and a court date.",
    "June marked one year since her father's death.",
    "Tuesday's session was rescheduled due to a transportation issue.",
    "Client spent Thanksgiving alone and reported increased rumination.",
    "Christmas Eve is historically a high-risk time for this client.",
    "Ramadan starts next week; discussed medication timing with prescriber.",
    # places that are also names
    "Client is considering a move to Savannah to be near family.",
    "Client drove up from Charlotte for the appointment.",
    "Client just got back from Phoenix and reports improved sleep.",
    "Her sister lives in Sydney, so their calls happen late at night.",
    "Client grew up in Madison and moved here for graduate school.",
    "Client's family emigrated from Jordan when he was eight.",
    "Client plans to visit relatives in India over winter break.",
    "Client's cousin is doing military service in Israel; client worries constantly.",
    # religions, languages, nationalities
    "Client was raised Catholic and now identifies as Buddhist.",
    "Client is Ethiopian-American and speaks Amharic at home.",
    # eponyms and measures
    "PHQ-9 score 14 (moderate), GAD-7 score 11.",
    "Administered the Beck Anxiety Inventory; score in the moderate range.",
    ("Young Schema Questionnaire completed; abandonment and defectiveness schemas elevated."),
    "Used Gottman repair attempts during the couples portion of session.",
    "Writer maintained a Rogerian stance, reflecting feelings without giving advice.",
    "Client dismissed what he called 'the Freudian stuff' about his mother.",
    "Client is curious about Jungian dream work; writer clarified scope of practice.",
    "Socratic questioning used to test the belief 'I ruin everything.'",
    "Discussed Maslow's hierarchy in relation to her housing insecurity.",
    # organisations, programs, brands
    "Client attends Narcotics Anonymous three times a week and has a sponsor.",
    "Medicare coverage renewed; copay unchanged.",
    "Client works nights stocking shelves at Costco.",
    "Client drives for Lyft and reports two road rage episodes this week.",
    "Client spends 5+ hours a day on Instagram comparing herself to others.",
    "Client joked that she talks to Siri more than to people.",
    "Client stayed up until 4 a.m. watching Netflix before the exam.",
    # medications
    "Wellbutrin XL 150 mg started by PCP; monitor for agitation and insomnia.",
    "Seroquel 50 mg at bedtime continues to help with sleep onset.",
    "Client asked for an early Klonopin refill; redirected to prescriber.",
    # section headers and capitalised clinical words at line start
    "Subjective: Client reports ongoing conflict at home and poor appetite.",
    "Objective: Alert, oriented x4, casually dressed, good eye contact.",
    "Intervention: Behavioral activation; scheduled two pleasant activities.",
    "Response: Client engaged and agreed to track mood daily.",
    "Clinician observed psychomotor slowing throughout the session.",
    "Therapist and client co-created a coping card for work stress.",
    "Counselor will coordinate with the school regarding attendance.",
    # role words without names, capitalised non-names after role words
    "Mother joined by phone for the last 15 minutes.",
    "Spoke with the school counselor, who confirmed the bullying reports.",
    "Client lives with her sister. She is supportive but works long hours.",
    "Client said his boss Friday afternoon threatened to write him up.",
    "Client and her husband Sunday night had a loud argument; no DV reported.",
    "Dad is back in rehab, per client. Grandma has the kids for now.",
    # all-caps abbreviations, transcript turns
    "Completed session 8 of 12 of CBT-I; DBT skills group to start next month.",
    "EMDR deferred until client is more stable. Denies SI/HI, plan, or intent.",
    "ACT defusion exercise introduced; client found 'leaves on a stream' helpful.",
    "T: What did you do after that?\nC: Nothing. I just sat in the car and cried.",
]
