"""One translation table for every word the kit shows a person, in English and Dutch."""

from __future__ import annotations

import os
import string
from typing import Literal

Lang = Literal["en", "nl"]
LANGS: tuple[Lang, ...] = ("en", "nl")

TEXT: dict[str, dict[Lang, str]] = {
    "machine": {"en": "machine", "nl": "machine"},
    "oee": {"en": "OEE", "nl": "OEE"},
    "availability": {"en": "availability", "nl": "beschikbaarheid"},
    # the OEE factors' letters as each reader's textbooks write them: A·P·Q, in Dutch B·P·K
    # (beschikbaarheid, prestatie, kwaliteit), the same as the Dutch handouts
    "letter.availability": {"en": "A", "nl": "B"},
    "letter.performance": {"en": "P", "nl": "P"},
    "letter.quality": {"en": "Q", "nl": "K"},
    "performance": {"en": "performance", "nl": "prestatie"},
    "effectiveness": {"en": "effectiveness", "nl": "effectiviteit"},
    "quality": {"en": "quality", "nl": "kwaliteit"},
    "planned": {"en": "planned", "nl": "gepland"},
    "run": {"en": "run", "nl": "looptijd"},
    "downtime": {"en": "downtime", "nl": "stilstand"},
    "small_stops": {"en": "small stops", "nl": "korte stops"},
    "total": {"en": "total", "nl": "totaal"},
    "good": {"en": "good", "nl": "goed"},
    "scrap": {"en": "scrap", "nl": "afkeur"},
    "losses": {"en": "downtime by category", "nl": "stilstand per categorie"},
    "reasons": {"en": "stop reasons", "nl": "stopredenen"},
    "flags": {"en": "notes", "nl": "opmerkingen"},
    "coverage": {"en": "observed", "nl": "waargenomen"},
    "coverage.help": {
        "en": "share of planned time the machine was observed (not offline)",
        "nl": "deel van de geplande tijd dat de machine werd waargenomen (niet offline)",
    },
    # domain.md §5 flags: what it means, and what to check (shown where the figure is shown)
    "flag.performance_above_1": {
        "en": "P above 100 %: the ideal cycle time is longer than the machine really needs, or "
        "units made while it was not observed were counted after the gap. Check the machine's "
        "ideal_cycle_time_s in the site file.",
        "nl": "P boven 100 %: de ideale cyclustijd is langer dan de machine echt nodig heeft, of "
        "stuks gemaakt zonder waarneming zijn na het gat geteld. Controleer ideal_cycle_time_s "
        "van de machine in het sitebestand.",
    },
    "flag.counts_across_gap": {
        "en": "Units made while the machine was offline are counted after the gap, so P may "
        "look high. Check the connection on the Data quality page.",
        "nl": "Stuks gemaakt terwijl de machine offline was, tellen na het gat; P kan daardoor te "
        "hoog lijken. Controleer de verbinding op de pagina Datakwaliteit.",
    },
    "flag.counter_backstep": {
        "en": "A counter or meter read lower than before, but not low enough to be a reset (other "
        "rounding, a late read): it added nothing. If it recurs, check how the value is read.",
        "nl": "Een teller of meter las lager dan eerder, maar niet laag genoeg voor een reset "
        "(andere afronding, een late uitlezing): dat telde niet mee. Komt het vaak voor, "
        "controleer dan hoe de waarde wordt uitgelezen.",
    },
    "flag.counts_inconsistent": {
        "en": "Good plus scrap is not the total: the counters disagree. Check which counters "
        "the machine sends and how they are mapped.",
        "nl": "Goed plus afkeur is niet het totaal: de tellers spreken elkaar tegen. Controleer "
        "welke tellers de machine stuurt en hoe ze gekoppeld zijn.",
    },
    "flag.no_counts": {
        "en": "No units counted in this period, so P and Q cannot be worked out. Check that a "
        "counter is mapped for this machine.",
        "nl": "Geen stuks geteld in deze periode, dus P en Q zijn niet te bepalen. Controleer of "
        "er een teller gekoppeld is voor deze machine.",
    },
    "flag.quality_assumed_1": {
        "en": "No good or scrap counter: every unit is taken as good (Q = 100 %). Map "
        "count_good or count_scrap to measure quality.",
        "nl": "Geen teller voor goed of afkeur: elk stuk telt als goed (Q = 100 %). Koppel "
        "count_good of count_scrap om kwaliteit te meten.",
    },
    "flag.no_ideal_cycle_time": {
        "en": "No ideal cycle time, so P and OEE cannot be worked out. Set ideal_cycle_time_s "
        "for the machine in the site file.",
        "nl": "Geen ideale cyclustijd, dus P en OEE zijn niet te bepalen. Zet ideal_cycle_time_s "
        "voor de machine in het sitebestand.",
    },
    "flag.unknown_product": {
        "en": "A product that is not in the site file ran; its units use the machine's ideal "
        "cycle time. Add the product under the machine's products.",
        "nl": "Er liep een product dat niet in het sitebestand staat; zijn stuks gebruiken de "
        "ideale cyclustijd van de machine. Voeg het product toe bij de machine (products).",
    },
    # domain.md §9/§10 on the data-quality page
    "clocks": {"en": "Clocks", "nl": "Klokken"},
    "clocks.none": {
        "en": "No clock steps and no source clock off in this period.",
        "nl": "Geen klokstappen en geen afwijkende bronklok in deze periode.",
    },
    "clock.step_back": {
        "en": "The gateway's clock was set back {d}: machines it stamps read offline until "
        "the clock passed the time already written; no unit was lost or counted twice.",
        "nl": "De klok van de gateway is {d} teruggezet: machines die zij tijd geeft, staan "
        "offline tot de klok de al geschreven tijd voorbij was; geen stuk is verloren of dubbel "
        "geteld.",
    },
    "clock.step_forward": {
        "en": "The gateway's clock jumped forward {d}: the skipped time is a gap (offline), "
        "not running time.",
        "nl": "De klok van de gateway sprong {d} vooruit: de overgeslagen tijd is een gat "
        "(offline), geen looptijd.",
    },
    "clock.skew": {
        "en": "The clock of {source} is {d} {dir} the gateway's: its values are stamped with "
        "the gateway's clock until it agrees. Set the device's clock (UTC) right.",
        "nl": "De klok van {source} loopt {d} {dir} op die van de gateway: de waarden krijgen "
        "de tijd van de gateway tot de klokken weer kloppen. Zet de klok van het apparaat "
        "(UTC) goed.",
    },
    "clock.ahead": {"en": "ahead of", "nl": "voor"},
    "clock.behind": {"en": "behind", "nl": "achter"},
    "clock.agrees": {
        "en": "The clock of {source} agrees with the gateway's again.",
        "nl": "De klok van {source} klopt weer met die van de gateway.",
    },
    "repeats": {"en": "repeats", "nl": "herhalingen"},
    "repeats.note": {
        "en": "The same rejection again and again is kept once an hour per source and reason, "
        "with the number of repeats; the total counts every one.",
        "nl": "Dezelfde afwijzing steeds opnieuw wordt één keer per uur per bron en reden "
        "bewaard, met het aantal herhalingen; het totaal telt ze allemaal.",
    },
    "flag.no_data": {
        "en": "Nothing of the planned time was observed: no figures, and no downtime either. "
        "Check that the gateway ran and the machine was connected (Data quality page).",
        "nl": "Niets van de geplande tijd is waargenomen: geen cijfers, en ook geen stilstand. "
        "Controleer of de gateway liep en de machine verbonden was (pagina Datakwaliteit).",
    },
    "coverage.short": {"en": "{pct} observed", "nl": "{pct} waargenomen"},
    "coverage.note": {
        "en": "Rows observed for less than 95 % of their planned time cover only that part; "
        "a row with nothing observed has no figures (–), not zero.",
        "nl": "Rijen die minder dan 95 % van hun geplande tijd zijn waargenomen, gaan alleen over "
        "dat deel; een rij zonder waarneming heeft geen cijfers (–), geen nul.",
    },
    "flag.low_coverage": {
        "en": "Observed {pct} of the planned time: the figures cover only that part. Check the "
        "connection on the Data quality page.",
        "nl": "{pct} van de geplande tijd waargenomen: de cijfers gaan alleen over dat deel. "
        "Controleer de verbinding op de pagina Datakwaliteit.",
    },
    # stop reasons the kit's machines and default list use; a site adds its own words in
    # `reasons:` (site file)
    "reason.tool_break": {"en": "tool break", "nl": "gereedschapsbreuk"},
    "reason.jam": {"en": "jam", "nl": "vastloper"},
    "reason.material": {"en": "material", "nl": "materiaal"},
    "reason.no_operator": {"en": "no operator", "nl": "geen operator"},
    "reason.changeover": {"en": "changeover", "nl": "omstellen"},
    "reason.quality_check": {"en": "quality check", "nl": "kwaliteitscontrole"},
    "reason.maintenance": {"en": "maintenance", "nl": "onderhoud"},
    "reason.other": {"en": "other", "nl": "overig"},
    "reason.sensor": {"en": "sensor", "nl": "sensor"},
    "reason.hydraulics": {"en": "hydraulics", "nl": "hydrauliek"},
    "reason.coolant": {"en": "coolant", "nl": "koelmiddel"},
    "reason.spindle_alarm": {"en": "spindle alarm", "nl": "spindelalarm"},
    "reason.door_interlock": {"en": "door interlock", "nl": "deurvergrendeling"},
    "reason.mould_stuck": {"en": "mould stuck", "nl": "matrijs vast"},
    "reason.heater_band": {"en": "heater band", "nl": "verwarmingsband"},
    "reason.cap_feeder": {"en": "cap feeder", "nl": "doptoevoer"},
    "reason.label_sensor": {"en": "label sensor", "nl": "etiketsensor"},
    "reason.bottle_fallen": {"en": "bottle fallen", "nl": "fles omgevallen"},
    "reason.die_crack": {"en": "die crack", "nl": "scheur in stempel"},
    "reason.misfeed": {"en": "misfeed", "nl": "verkeerde toevoer"},
    "reason.light_curtain": {"en": "light curtain", "nl": "lichtscherm"},
    "reason.nozzle": {"en": "nozzle", "nl": "mondstuk"},
    "reason.collision": {"en": "collision", "nl": "botsing"},
    "reason.gas_pressure": {"en": "gas pressure", "nl": "gasdruk"},
    "reason.sheet_jam": {"en": "sheet jam", "nl": "plaat vast"},
    "reason.belt": {"en": "belt", "nl": "band"},
    "reason.chuck": {"en": "chuck", "nl": "klauwplaat"},
    "reason.motor_overload": {"en": "motor overload", "nl": "motor overbelast"},
    "offline_since": {"en": "offline since {when}", "nl": "offline sinds {when}"},
    "unexplained": {"en": "(unexplained)", "nl": "(onverklaard)"},
    "episodes": {"en": "stops", "nl": "stops"},
    "window": {"en": "window", "nl": "periode"},
    "no_data": {"en": "no data", "nl": "geen data"},
    # alert messages (fieldlab.alerts.text): {machine}, {what}, {since}, {value}, {limit}
    "alert.fired": {
        "en": "{subject}: {what} since {since}",
        "nl": "{subject}: {what} sinds {since}",
    },
    "alert.repeated": {
        "en": "{subject}: still {what}, since {since} ({lasted})",
        "nl": "{subject}: nog steeds {what}, sinds {since} ({lasted})",
    },
    "alert.cleared": {
        "en": "{subject}: over: {what}, from {since} to {until} ({lasted})",
        "nl": "{subject}: voorbij: {what}, van {since} tot {until} ({lasted})",
    },
    "alert.oee_below": {
        "en": "shift OEE {value} below the target of {limit}",
        "nl": "OEE van de ploeg {value}, onder het doel van {limit}",
    },
    "alert.value_outside": {
        "en": "{signal} {value} outside {limit}",
        "nl": "{signal} {value} buiten {limit}",
    },
    "alert.source_degraded": {
        "en": "gateway source not connected ({state})",
        "nl": "gatewaybron niet verbonden ({state})",
    },
    "alert.rule": {"en": "rule {rule}", "nl": "regel {rule}"},
    "alerts_since": {"en": "since {since}", "nl": "sinds {since}"},
    "alerts_recent": {
        "en": "Alerts in this period ({n})",
        "nl": "Meldingen in deze periode ({n})",
    },
    "alerts_event": {"en": "event", "nl": "gebeurtenis"},
    "alerts_event.fired": {"en": "fired", "nl": "gemeld"},
    "alerts_event.repeated": {"en": "repeated", "nl": "herhaald"},
    "alerts_event.cleared": {"en": "cleared", "nl": "voorbij"},
    # the owner's weekly report (fieldlab.reports)
    "report.title": {"en": "Weekly report {site}", "nl": "Weekrapport {site}"},
    "report.week": {"en": "week {week}, {year}", "nl": "week {week}, {year}"},
    "report.summary": {"en": "The week in brief", "nl": "De week in het kort"},
    "report.oee": {"en": "OEE per machine", "nl": "OEE per machine"},
    "report.trend": {"en": "OEE over the last {n} weeks", "nl": "OEE over de laatste {n} weken"},
    "report.losses": {"en": "Top losses", "nl": "Grootste verliezen"},
    "report.energy": {"en": "Energy", "nl": "Energie"},
    "report.alerts": {"en": "Alerts of the week", "nl": "Meldingen van de week"},
    "report.compare": {"en": "Compared with {other}", "nl": "Vergeleken met {other}"},
    "report.no_alerts": {"en": "No alerts this week.", "nl": "Geen meldingen deze week."},
    "report.no_losses": {"en": "No downtime this week.", "nl": "Geen stilstand deze week."},
    "report.minutes": {"en": "minutes", "nl": "minuten"},
    "report.cost": {"en": "cost", "nl": "kosten"},
    "report.reason": {"en": "reason", "nl": "reden"},
    "report.unexplained": {"en": "(no reason given)", "nl": "(geen reden opgegeven)"},
    "report.lasted": {"en": "lasted", "nl": "duurde"},
    "report.open": {"en": "still open", "nl": "nog open"},
    "report.when": {"en": "when", "nl": "wanneer"},
    "report.what": {"en": "what", "nl": "wat"},
    "report.change": {"en": "change", "nl": "verschil"},
    "report.kwh_per_good": {"en": "kWh per good unit", "nl": "kWh per goed stuk"},
    "report.non_productive": {"en": "kWh making nothing", "nl": "kWh zonder productie"},
    "report.line_downtime": {
        "en": "Downtime {time} in all{money}; energy {kwh} kWh{cost}.",
        "nl": "Stilstand {time} in totaal{money}; energie {kwh} kWh{cost}.",
    },
    "report.no_data": {
        "en": "No data for this week: nothing of its planned time was observed (the kit was not "
        "running yet, or no machine was connected). No figures, and no downtime either.",
        "nl": "Geen data voor deze week: niets van de geplande tijd is waargenomen (de kit liep "
        "nog niet, of er was geen machine verbonden). Geen cijfers, en ook geen stilstand.",
    },
    "report.partly_observed": {
        "en": "Observed {pct} of the planned time this week: the figures cover only that part, "
        "and time without data counts as downtime with the reason 'no data'.",
        "nl": "{pct} van de geplande tijd van deze week is waargenomen: de cijfers gaan alleen "
        "over dat deel, en tijd zonder data telt als stilstand met de reden 'geen data'.",
    },
    "report.money_note": {
        "en": "Money: downtime × {margin} per hour (reports.margin_per_hour), energy × {price} "
        "per kWh (energy.price_per_kwh).",
        "nl": "Geld: stilstand × {margin} per uur (reports.margin_per_hour), energie × {price} "
        "per kWh (energy.price_per_kwh).",
    },
    "report.footer": {
        "en": "Made by fieldlab-kit from the store; every figure equals `fieldlab oee` for the "
        "same week.",
        "nl": "Gemaakt door fieldlab-kit uit de opslag; elk getal is gelijk aan `fieldlab oee` "
        "voor dezelfde week.",
    },
    "state.running": {"en": "running", "nl": "draait"},
    "state.idle": {"en": "idle", "nl": "wacht"},
    "state.starved": {"en": "starved", "nl": "materiaaltekort"},
    "state.blocked": {"en": "blocked", "nl": "geblokkeerd"},
    "state.fault": {"en": "fault", "nl": "storing"},
    "state.setup": {"en": "setup", "nl": "omstellen"},
    "state.planned_stop": {"en": "planned stop", "nl": "geplande stop"},
    "state.offline": {"en": "offline", "nl": "offline"},
    # dashboards
    "app.title": {"en": "fieldlab OEE", "nl": "fieldlab OEE"},
    "page.overview": {"en": "Overview", "nl": "Overzicht"},
    "page.machine": {"en": "Machine", "nl": "Machine"},
    "page.shifts": {"en": "Shifts", "nl": "Ploegen"},
    "page.reasons": {"en": "Stop reasons", "nl": "Stopredenen"},
    "page.quality": {"en": "Data quality", "nl": "Datakwaliteit"},
    "page.andon": {"en": "Andon (TV)", "nl": "Andon (tv)"},
    "page.users": {"en": "Users", "nl": "Gebruikers"},
    "page.exercise": {"en": "Exercise", "nl": "Opdracht"},
    "page.trainer": {"en": "Trainer", "nl": "Trainer"},
    "ex.none": {
        "en": "No recipe is running: the exercise page is there during `fieldlab recipe run`.",
        "nl": "Er loopt geen recept: de opdrachtpagina is er tijdens `fieldlab recipe run`.",
    },
    "ex.name": {"en": "Your name", "nl": "Je naam"},
    "ex.name_help": {
        "en": "No account needed: your answers are kept under this name.",
        "nl": "Geen account nodig: je antwoorden worden onder deze naam bewaard.",
    },
    "ex.start": {"en": "Start", "nl": "Beginnen"},
    "ex.hello": {"en": "Answering as **{name}**", "nl": "Je antwoordt als **{name}**"},
    "ex.other_name": {"en": "Another name", "nl": "Andere naam"},
    "ex.question": {"en": "Question {n}", "nl": "Vraag {n}"},
    "ex.opens": {
        "en": "The next question opens at {when} (simulated time).",
        "nl": "De volgende vraag komt om {when} (gesimuleerde tijd).",
    },
    "ex.answer": {"en": "Your answer", "nl": "Je antwoord"},
    "ex.send": {"en": "Answer", "nl": "Antwoorden"},
    "ex.form.percent": {"en": "a percentage, e.g. 42.5", "nl": "een percentage, bijv. 42,5"},
    "ex.form.count": {"en": "a number, e.g. 1250", "nl": "een aantal, bijv. 1250"},
    "ex.form.minutes": {"en": "minutes, e.g. 12.5", "nl": "minuten, bijv. 12,5"},
    "ex.form.time": {"en": "a time, e.g. 09:45", "nl": "een tijd, bijv. 09:45"},
    "ex.unreadable": {
        "en": "That is not {form}. Try again.",
        "nl": "Dat is geen {form}. Probeer het nog eens.",
    },
    "ex.right": {"en": "Right!", "nl": "Goed!"},
    "ex.close": {
        "en": "Close, but not within the margin. Look again.",
        "nl": "Bijna, maar niet binnen de marge. Kijk nog eens.",
    },
    "ex.wrong": {"en": "Not right.", "nl": "Niet goed."},
    "ex.you_said": {"en": "You answered {given}.", "nl": "Je antwoordde {given}."},
    "ex.hint": {"en": "Hint", "nl": "Tip"},
    "ex.explain": {"en": "Explanation", "nl": "Uitleg"},
    "ex.attempts_left": {
        "en": "{n} attempt(s) left before the explanation.",
        "nl": "Nog {n} poging(en) tot de uitleg.",
    },
    "ex.done": {
        "en": "All questions answered: {right} of {n} right. What you learned:",
        "nl": "Alle vragen beantwoord: {right} van {n} goed. Wat je hebt geleerd:",
    },
    "ex.waiting": {
        "en": "The simulation waits until this question is answered.",
        "nl": "De simulatie wacht tot deze vraag is beantwoord.",
    },
    "tr.code": {"en": "Trainer code", "nl": "Trainerscode"},
    "tr.code_help": {
        "en": "`fieldlab recipe run` printed it in the trainer's terminal.",
        "nl": "`fieldlab recipe run` toonde hem in de terminal van de trainer.",
    },
    "tr.none_yet": {"en": "Nobody has answered yet.", "nl": "Nog niemand heeft geantwoord."},
    "tr.participant": {"en": "participant", "nl": "deelnemer"},
    "tr.question": {"en": "question", "nl": "vraag"},
    "tr.answered": {"en": "answered", "nl": "beantwoord"},
    "tr.right_first": {"en": "right at first try", "nl": "direct goed"},
    "tr.solved": {"en": "right in the end", "nl": "uiteindelijk goed"},
    "tr.hints": {"en": "hints used", "nl": "tips gebruikt"},
    "tr.hardest": {"en": "Questions most got wrong", "nl": "Vragen die de meesten fout hadden"},
    "tr.not_first": {"en": "not right at first", "nl": "niet direct goed"},
    "tr.summary": {"en": "Summary per participant", "nl": "Samenvatting per deelnemer"},
    "tr.print": {"en": "Printable summary", "nl": "Samenvatting om te printen"},
    "login.title": {"en": "Log in", "nl": "Inloggen"},
    "login.user": {"en": "User name", "nl": "Gebruikersnaam"},
    "login.password": {"en": "Password", "nl": "Wachtwoord"},
    "login.button": {"en": "Log in", "nl": "Inloggen"},
    "login.logout": {"en": "Log out", "nl": "Uitloggen"},
    "login.refused": {
        "en": "User name or password is not right.",
        "nl": "Gebruikersnaam of wachtwoord klopt niet.",
    },
    "login.expired": {
        "en": "Your session has expired: log in again.",
        "nl": "Je sessie is verlopen: log opnieuw in.",
    },
    "login.as": {"en": "Logged in as {name} ({role})", "nl": "Ingelogd als {name} ({role})"},
    "role.viewer": {"en": "viewer", "nl": "kijker"},
    "role.operator": {"en": "operator", "nl": "operator"},
    "role.admin": {"en": "admin", "nl": "beheerder"},
    "reasons.viewer": {
        "en": "Only operators enter stop reasons; ask an admin for an operator login.",
        "nl": "Alleen operators voeren stopredenen in; vraag een beheerder om een operatorlogin.",
    },
    "users.help": {
        "en": "Users are managed on the server with `fieldlab users add|passwd|role|remove "
        "--config {config}`.",
        "nl": "Gebruikers beheer je op de server met `fieldlab users add|passwd|role|remove "
        "--config {config}`.",
    },
    "entered_by": {"en": "entered by", "nl": "ingevoerd door"},
    "full_name": {"en": "name", "nl": "naam"},
    "energy": {"en": "energy", "nl": "energie"},
    "kwh_per_good": {"en": "kWh/good unit", "nl": "kWh/goed stuk"},
    "energy_title": {"en": "Energy", "nl": "Energie"},
    "energy_cost": {"en": "energy cost", "nl": "energiekosten"},
    "non_productive": {"en": "while making nothing", "nl": "zonder productie"},
    "non_productive.help": {
        "en": "energy used in every state but running: what standing still costs",
        "nl": "energie in elke toestand behalve draaien: wat stilstand kost",
    },
    "site_energy": {
        "en": "Site energy this period: {kwh} kWh",
        "nl": "Energie van de site deze periode: {kwh} kWh",
    },
    "role": {"en": "role", "nl": "rol"},
    "recent_entries": {"en": "Entered by hand", "nl": "Met de hand ingevoerd"},
    "entered": {"en": "entered", "nl": "ingevoerd"},
    "language": {"en": "Language", "nl": "Taal"},
    "period": {"en": "Period", "nl": "Periode"},
    "period.current_shift": {"en": "Current shift", "nl": "Huidige ploeg"},
    "period.today": {"en": "Today", "nl": "Vandaag"},
    "period.yesterday": {"en": "Yesterday", "nl": "Gisteren"},
    "period.this_week": {"en": "This week", "nl": "Deze week"},
    "period.this_month": {"en": "This month", "nl": "Deze maand"},
    "period.custom": {"en": "Custom", "nl": "Aangepast"},
    "from": {"en": "From", "nl": "Van"},
    "to": {"en": "To", "nl": "Tot"},
    "threshold": {"en": "Micro-stop threshold (s)", "nl": "Grens korte stop (s)"},
    "threshold.help": {
        "en": "Stops shorter than this count as small stops (performance loss); longer ones as "
        "downtime (availability loss). Move it and watch the loss shift between A and P.",
        "nl": "Stops korter dan dit tellen als korte stops (prestatieverlies); langere als "
        "stilstand (beschikbaarheidsverlies). Schuif en zie het verlies verschuiven tussen B en P.",
    },
    "in_state_for": {"en": "for {d}", "nl": "al {d}"},
    "target_now": {
        "en": "good {good:,} / target {target:,}",
        "nl": "goed {good:,} / doel {target:,}",
    },
    "empty_store": {
        "en": "No data yet. Start the gateway (fieldlab gateway) or load a file (fieldlab "
        "ingest), then this page fills itself.",
        "nl": "Nog geen data. Start de gateway (fieldlab gateway) of laad een bestand "
        "(fieldlab ingest); daarna vult deze pagina zich vanzelf.",
    },
    "store_error": {
        "en": "The data store cannot be read: {error}. Check `store:` in {config} and that the "
        "database is reachable.",
        "nl": "De dataopslag is niet leesbaar: {error}. Controleer `store:` in {config} en of "
        "de database bereikbaar is.",
    },
    "config_error": {
        "en": "The site file has a problem: {error}",
        "nl": "Het sitebestand heeft een probleem: {error}",
    },
    "loss_cascade": {"en": "Where the time went", "nl": "Waar de tijd bleef"},
    "timeline": {"en": "State timeline", "nl": "Tijdlijn van toestanden"},
    "pareto": {"en": "Downtime by reason", "nl": "Stilstand per reden"},
    "worm": {"en": "Good units against target", "nl": "Goede stuks tegen doel"},
    "process_values": {"en": "Process values", "nl": "Procesdata"},
    "fully_productive": {"en": "fully productive", "nl": "volledig productief"},
    "speed_loss": {"en": "speed loss", "nl": "snelheidsverlies"},
    "scrap_loss": {"en": "scrap", "nl": "afkeur"},
    "duration_min": {"en": "minutes", "nl": "minuten"},
    "count": {"en": "count", "nl": "aantal"},
    "cumulative": {"en": "cumulative %", "nl": "cumulatief %"},
    "target": {"en": "target", "nl": "doel"},
    "shift": {"en": "shift", "nl": "ploeg"},
    "day": {"en": "day", "nl": "dag"},
    "all_machines": {"en": "All machines", "nl": "Alle machines"},
    "by_shift": {"en": "By shift", "nl": "Per ploeg"},
    "by_day": {"en": "By day", "nl": "Per dag"},
    "download_csv": {"en": "Download CSV", "nl": "Download CSV"},
    "download_xlsx": {"en": "Download Excel", "nl": "Download Excel"},
    "unexplained_stops": {
        "en": "Unexplained stops, longest first",
        "nl": "Onverklaarde stops, langste eerst",
    },
    "none_unexplained": {
        "en": "Every stop in this period has a reason.",
        "nl": "Elke stop in deze periode heeft een reden.",
    },
    "choose_reason": {"en": "Reason", "nl": "Reden"},
    "choose_reason_placeholder": {
        "en": "Choose what stopped it",
        "nl": "Kies waardoor hij stilstond",
    },
    "choose_reason_first": {
        "en": "Choose a reason first: nothing was saved.",
        "nl": "Kies eerst een reden: er is niets opgeslagen.",
    },
    "save": {"en": "Save", "nl": "Opslaan"},
    "saved": {
        "en": "Saved: {reason} for the stop of {start}",
        "nl": "Opgeslagen: {reason} voor de stop van {start}",
    },
    "start": {"en": "start", "nl": "begin"},
    "length": {"en": "length", "nl": "duur"},
    "category": {"en": "category", "nl": "categorie"},
    "last_sample_age": {"en": "Age of the last sample", "nl": "Leeftijd laatste meting"},
    "signal": {"en": "signal", "nl": "signaal"},
    "age": {"en": "age", "nl": "leeftijd"},
    "offline_periods": {"en": "Offline periods", "nl": "Offline perioden"},
    "unmapped": {"en": "Unmapped codes and other notes", "nl": "Onbekende codes en opmerkingen"},
    "rejected": {"en": "Rejected records", "nl": "Afgewezen records"},
    "gateway_health": {"en": "Gateway health", "nl": "Gateway-status"},
    "gateway_unreachable": {
        "en": "The gateway's /health is not reachable at {url}.",
        "nl": "De /health van de gateway is niet bereikbaar op {url}.",
    },
    "source": {"en": "source", "nl": "bron"},
    "reason": {"en": "reason", "nl": "reden"},
    "payload": {"en": "payload", "nl": "inhoud"},
    "sim_clock": {"en": "Simulated time", "nl": "Gesimuleerde tijd"},
    "ingest.progress": {
        "en": "{file}: {lines:,} lines ({pct}%), {rate:,.0f} lines/s",
        "nl": "{file}: {lines:,} regels ({pct}%), {rate:,.0f} regels/s",
    },
    "ingest.summary": {
        "en": "{file}: {kept:,} samples stored, {rejected:,} lines rejected",
        "nl": "{file}: {kept:,} samples opgeslagen, {rejected:,} regels afgewezen",
    },
    "ingest.bad_line": {"en": "{file}:{line}: {reason}", "nl": "{file}:{line}: {reason}"},
    "ingest.more_bad": {
        "en": "… and {n:,} more rejected lines (all kept in the store's rejected table)",
        "nl": "… en nog {n:,} afgewezen regels (alle bewaard in de tabel rejected van de store)",
    },
    "ingest.unknown_state": {
        "en": "{file}: note: state values that map to no DOMAIN state were stored as received: "
        "{values}",
        "nl": "{file}: let op: toestanden die bij geen DOMAIN-toestand horen zijn opgeslagen "
        "zoals ontvangen: {values}",
    },
    # fieldlab bench
    "bench.start": {"en": "benchmark {name}: {what}", "nl": "benchmark {name}: {what}"},
    "bench.met": {"en": "goal met ({seconds:.0f} s)", "nl": "doel gehaald ({seconds:.0f} s)"},
    "bench.missed": {
        "en": "goal MISSED ({seconds:.0f} s); see docs/BENCHMARKS.md for what limits it",
        "nl": "doel NIET gehaald ({seconds:.0f} s); zie docs/BENCHMARKS.md voor de oorzaak",
    },
    "bench.failed": {
        "en": "benchmark {name} could not run: {error}",
        "nl": "benchmark {name} kon niet draaien: {error}",
    },
}


def detect_lang(explicit: str | None = None) -> Lang:
    """``--lang`` first, then FIELDLAB_LANG, then the locale (LANG=nl_NL… gives Dutch)."""
    for candidate in (explicit, os.environ.get("FIELDLAB_LANG"), os.environ.get("LANG")):
        if candidate:
            code = candidate[:2].lower()
            return "nl" if code == "nl" else "en"
    return "en"


class _ReaderFormatter(string.Formatter):
    """`{n:,}` and `{rate:,.1f}` in a text become 2.522 and 1.234,5 in Dutch: a number with a
    grouping spec is written as the reader writes it (fieldlab.i18n.formats), so no message
    needs its own formatting code."""

    def __init__(self, lang: Lang):
        self.lang = lang

    def format_field(self, value: object, format_spec: str) -> str:
        if "," in format_spec and isinstance(value, int | float) and not isinstance(value, bool):
            from fieldlab.i18n.formats import number

            digits = int(format_spec.split(".", 1)[1].rstrip("f")) if "." in format_spec else 0
            return number(value, self.lang, digits)
        return super().format_field(value, format_spec)


def t(key: str, lang: Lang = "en", **kwargs: object) -> str:
    entry = TEXT.get(key)
    text = key if entry is None else entry.get(lang) or entry["en"]
    return _ReaderFormatter(lang).format(text, **kwargs) if kwargs else text
