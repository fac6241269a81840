"""The demo night's wording: template texts per source and label, the fillers they draw from, and the
vocabulary they use (roster names and PINs are drawn to avoid it, so the ground truth stays complete).

`{name}` is harmless filler, `{LABEL}` / `{LABEL:variant}` a generated sensitive value, and `<<LABEL:literal>>`
literal wording (e.g. performance talk) marked as a span.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable

LABELS = (
    "ROSTER_NAME",
    "PERSON",
    "EMAIL",
    "PHONE",
    "ADDRESS",
    "CREDENTIAL",
    "API_KEY",
    "CARD",
    "SSN",
    "PERFORMANCE",
)

TICKET_PREFIXES = ("PLAT", "PAY", "DATA", "MOB", "OPS")

FILLERS: dict[str, tuple[str, ...]] = {
    "service": ("billing-api", "auth-service", "search-indexer", "ingest-worker", "web-frontend",
                "notifications", "ledger", "feature-flags", "etl-nightly"),
    "project": ("Atlas", "Kestrel", "Borealis", "Lighthouse", "Tundra", "Quasar", "Monsoon", "Pinecone"),
    "time": ("10:30", "11", "2pm", "3:15", "4", "after lunch", "noon", "EOD", "9:45"),
    "weekday": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday"),
    "rating_low": ("below expectations", "partially meets"),
    "rating_mid": ("meets", "meets expectations"),
    "rating_high": ("exceeds expectations", "strongly exceeds", "exceeds"),
    "level": ("Staff", "Senior", "Senior Engineer", "Staff Engineer", "Principal", "Engineering Manager", "L5", "L6"),
    "company": ("Initech", "Globex", "Hooli", "Vandelay Industries", "Soylent", "Cyberdyne", "Wonka Industries"),
    "emoji": ("👍", "🙏", "🎉", "😅", "🔥", "👀", ":+1:", ":eyes:", "🙃"),
    "pipdate": ("Nov 3", "October 20", "Nov 17", "Dec 1"),
}
NUMERIC_FILLERS: dict[str, Callable[[random.Random], str]] = {
    # 3-digit tickets and 5-digit PRs never equal a 4- or 6-digit PIN, so a PIN is unambiguous in any output.
    "ticket": lambda r: f"{r.choice(TICKET_PREFIXES)}-{r.randint(100, 999)}",
    "pr": lambda r: str(r.randint(10000, 99999)),
    "num": lambda r: str(r.randint(2, 15)),
    "pct": lambda r: r.choice((str(r.randint(2, 20)), f"{r.randint(2, 12)}.5")),
    "exp": lambda r: f"{r.randint(1, 12):02d}/{r.randint(27, 31)}",
    "ext": lambda r: str(r.randint(10, 4999)),
}

CHAT_HARMLESS: tuple[str, ...] = (
    "lgtm", "ok", "ok 👍", "{emoji}", "+1", "sgtm", "ack", "ty!", "thanks!", "on it", "brb", "nvm, found it",
    "can you review the PR?", "standup in 5", "standup in 5 min, dialing in from the train",
    "merged", "merging after CI", "approved", "sounds good", "oh nice", "haha", "same", "nice catch {emoji}",
    "is {service} down for anyone else?", "{ticket} is ready for review", "pushed a fix, CI is running",
    "lunch?", "running 5 min late", "can we move our sync to {time}?", "deploying {service} to staging",
    "PR #{pr} is ready for review", "who's on call this week?", "the {project} doc is updated",
    "retro notes are in the wiki", "flaky test again {emoji}", "anyone have context on {ticket}?",
    "rollback done, error rate is back to normal", "heads down until {time}", "WFH today",
    "coffee ☕", "let's take it offline", "will take a look after lunch", "ok cool",
    "can someone restart the {service} pods?", "p99 latency on {service} looks weird since {time}",
    "hotfix is out", "reminder: planning at {time}", "updated the runbook", "what's the ETA on {project}?",
    "blocked on {ticket}", "it's a config issue, not code", "TIL you can pin tabs in the terminal",
    "@here deploy freeze starts {weekday}", "does anyone know why the build cache keeps missing?",
    "I'll pick up {ticket} next", "moving {ticket} to done", "can I get a second pair of eyes on PR #{pr}?",
    "the dashboard is back", "quick q: do we still need the old {service} feature flag?",
    "yep", "nope, that's expected", "fixed in #{pr}", "oops, wrong channel",
    "demo for {project} is on {weekday}", "let me check and get back to you", "in a meeting, will reply after",
    "the staging env is flaky again", "migrations ran fine", "are we still doing the {project} sync today?",
    "pls don't merge to main until the release is cut", "LGTM with one nit", "ship it {emoji}",
    "I added tests for the edge case", "canary looks healthy", "paging the on-call for {service}",
    "going offline, back {weekday}", "happy {weekday} {emoji}", "who owns {service} these days?",
    "updated the ticket with repro steps:\n1. open the app\n2. click export\n3. watch it spin",
)

CHAT_PLANTED: dict[str, tuple[str, ...]] = {
    "ROSTER_NAME": (
        "{ROSTER_NAME} can you take a look at {ticket} when you get a sec?",
        "thanks {SUBJECT}!", "thanks {SUBJECT:first} {emoji}", "cc {ROSTER_NAME:handle}",
        "{SUBJECT:handle} ping", "looping in {ROSTER_NAME:full} for the {project} rollout",
        "has anyone seen {ROSTER_NAME:lower} today? was supposed to run standup",
        "{ROSTER_NAME:first} and {ROSTER_NAME:first} are pairing on the {service} migration",
        "i think {ROSTER_NAME:lower} owns that, not me",
        "per {ROSTER_NAME}'s comment on the PR, I reverted the config change",
        "{ROSTER_NAME:preferred} is out today, {ROSTER_NAME:handle} is covering on-call",
        "shoutout to {ROSTER_NAME:full} for debugging the {service} outage last night {emoji}",
        "ask {ROSTER_NAME:bare_handle}, they wrote most of {service}",
        "{SUBJECT:preferred} do you have a minute?", "{ROSTER_NAME:initial} said the fix is in #{pr}",
        "sync with {ROSTER_NAME:last} about the budget? I think that's the right owner",
    ),
    "PERSON": (
        "leaving early, my dentist Dr. {PERSON:last} moved my appointment to 3",
        "my landlord {PERSON} still hasn't fixed the heating 🙄",
        "interviewing {PERSON} tomorrow, used to be at {company}",
        "my wife {PERSON:first} says hi lol", "my husband {PERSON:first} is picking up the kids today",
        "the recruiter {PERSON} keeps emailing me about a role at {company}",
        "picking up my son from {PERSON:first}'s place, back in 30",
        "just got off the phone with {PERSON} from {company}, they'll send the contract {weekday}",
        "{SUBJECT} the candidate is {PERSON}, resume is in the hiring doc",
    ),
    "EMAIL": (
        "can you send the deck to {EMAIL:roster}?", "my personal email is {EMAIL:personal} if slack is down",
        "forwarding from {EMAIL:personal}, ignore the weird signature",
        "add {EMAIL:roster} and {EMAIL:roster} to the invite pls",
        "the vendor contact is {PERSON} ({EMAIL:external})",
        "{SUBJECT} use {EMAIL:personal} for the offsite form, my work inbox is a mess",
        "who is {EMAIL:external}? they keep replying-all",
    ),
    "PHONE": (
        "call me at {PHONE}, wifi is spotty", "my cell: {PHONE}", "on-call number this week is {PHONE}",
        "dial in: {PHONE:ext}", "text me on {PHONE}, landing at 6", "the london office line is {PHONE:gb}",
        "{PERSON}'s number is {PHONE}, she's the building manager",
        "{SUBJECT:first} my new number is {PHONE}, old one is dead",
    ),
    "ADDRESS": (
        "ship it to my place: {ADDRESS}", "moved! new address is {ADDRESS}",
        "offsite dinner is at {ADDRESS}, 7pm", "can you send the replacement laptop to {ADDRESS}?",
        "my landlord {PERSON} finally returned the deposit for {ADDRESS:street}",
        "working from my parents' house this week ({ADDRESS:street})",
    ),
    "CREDENTIAL": (
        "my new password is {CREDENTIAL}", "pw: {CREDENTIAL}", "password={CREDENTIAL}",
        "the wifi pass is {CREDENTIAL:wifi}", "PIN is {CREDENTIAL:pin}",
        "staging db login is admin / {CREDENTIAL}", "door code for the office is {CREDENTIAL:pin}",
        "temporarily set the shared vpn account to {CREDENTIAL}, rotate after the demo",
        "DATABASE_URL=postgres://app_rw:{CREDENTIAL:url}@localhost:5432/app",
        "lol I typed my password into the chat: {CREDENTIAL}",
        "{SUBJECT} the jenkins creds are deploy / {CREDENTIAL}",
        "creds for staging:\nuser: admin\npass: {CREDENTIAL}",
    ),
    "API_KEY": (
        "here's the key for the sandbox: {API_KEY:aws}", "export AWS_ACCESS_KEY_ID={API_KEY:aws}",
        "aws_secret_access_key = {API_KEY:aws_secret}",
        "use my token {API_KEY:github} for now, I'll revoke it tomorrow", "GITHUB_TOKEN={API_KEY:github}",
        "slack bot token is {API_KEY:slack}", "stripe live key: {API_KEY:stripe} (don't commit it!!)",
        "OPENAI_API_KEY={API_KEY:openai}", "curl -H 'Authorization: Bearer {API_KEY:openai}' localhost:8080/v1/models",
        "maps key {API_KEY:google}", "{SUBJECT:first} this one works: {API_KEY}",
    ),
    "CARD": (
        "company card for the offsite: {CARD} exp {exp}", "can you book it on my card? {CARD}",
        "card number is {CARD}, billing zip is the office one",
        "charged the cloud bill to {CARD} by accident {emoji}",
    ),
    "SSN": (
        "HR needs my SSN for the I-9, it's {SSN}", "social is {SSN}",
        "for the benefits form: SSN {SSN}",
        "{SUBJECT} I think you put your SSN in the doc ({SSN}), might want to delete",
    ),
    "PERFORMANCE": (
        "{ROSTER_NAME} is <<PERFORMANCE:on a PIP>> btw, keep it quiet",
        "heard {ROSTER_NAME:first} <<PERFORMANCE:was rated '{rating_low}'>>",
        "my <<PERFORMANCE:bonus was {pct}%>> this year, kinda disappointing",
        "{ROSTER_NAME} <<PERFORMANCE:got promoted to {level}>>!! 🎉",
        "{ROSTER_NAME:first} <<PERFORMANCE:is getting let go next week>>",
        "calibration <<PERFORMANCE:bumped me down to '{rating_mid}'>>",
        "did you hear {ROSTER_NAME} <<PERFORMANCE:got a {pct}% raise>>?",
        "<<PERFORMANCE:she's on a performance improvement plan>>, don't pile on",
        "I <<PERFORMANCE:got '{rating_high}'>> 😅",
        "{ROSTER_NAME:handle} <<PERFORMANCE:didn't get the promo to {level}>> again",
        "pretty sure {ROSTER_NAME:lower} <<PERFORMANCE:is being managed out>>",
        "<<PERFORMANCE:he was rated '{rating_low}'>> and nobody told him why",
    ),
}
LABEL_WEIGHTS = (25, 10, 10, 10, 7, 10, 8, 5, 5, 10)  # how often each of LABELS is planted, in that order

SPOKEN_HARMLESS: tuple[str, ...] = (
    "okay, let's get started", "can everyone see my screen?", "yeah, I think that makes sense",
    "um, so the {service} latency went up after the deploy on {weekday}", "sorry, I was on mute",
    "let's circle back on that next week", "any blockers?", "I can take that action item",
    "we're about eighty percent done with {project}", "next slide, please", "cool, that's all from me",
    "you cut out for a second there", "I'll drop the link in the chat", "can you hear me now?",
    "so the plan is to, uh, ship {project} behind a flag first", "right, right", "mm-hm",
    "I don't have anything this week", "we should probably write that down", "yeah, agreed",
    "let me share my screen", "one sec, my laptop is updating", "okay, moving on to the next item",
    "does {weekday} work for everyone?", "I think we're out of time", "thanks everyone, good meeting",
    "the error budget for {service} is basically gone", "so, uh, where are we on {ticket}?",
    "I'll follow up async", "sorry, go ahead", "no, you go", "that's a good question, actually",
    "we saw the same thing in {service} last quarter", "I'd rather not block the release on that",
    "let's timebox this to five minutes", "yep, I'm here", "hello? can you hear me?",
)

SPOKEN_PLANTED: dict[str, tuple[str, ...]] = {
    "ROSTER_NAME": (
        "thanks {ROSTER_NAME}, uh, can you walk us through the {project} numbers?",
        "so {ROSTER_NAME:first} and I looked at this yesterday and, um, it's the retry logic",
        "I think {ROSTER_NAME:first} dropped off the call", "{ROSTER_NAME:full}, you're on mute",
        "let's wait a minute for {ROSTER_NAME:preferred}",
    ),
    "PERSON": (
        "I have a hard stop, my kid's teacher {PERSON} wants to talk at four",
        "{PERSON} from {company} will join the next call", "sorry, my neighbor {PERSON:first} is doing construction",
    ),
    "EMAIL": ("just email me at {EMAIL:personal}, my work inbox is broken", "send it to {EMAIL:roster}"),
    "PHONE": ("if the bridge drops, call me on {PHONE}", "the dial-in is {PHONE:ext}"),
    "ADDRESS": (
        "the offsite is at {ADDRESS}",
        "I'm at my parents' place, {ADDRESS:street}, so the connection is bad",
    ),
    "CREDENTIAL": (
        "the demo account password is {CREDENTIAL}, I'll change it after", "uh, the wifi here is {CREDENTIAL:wifi}",
        "the door code is {CREDENTIAL:pin}",
    ),
    "API_KEY": (
        "I'm reading it off my screen, it's {API_KEY:aws}",
        "the token is, uh, {API_KEY:github}, I'll paste it too",
    ),
    "CARD": ("my card is {CARD}, can you put the dinner on it",),
    "SSN": ("HR asked for my social, it's {SSN}, is that okay to say here?",),
    "PERFORMANCE": (
        "between us, {ROSTER_NAME:first} <<PERFORMANCE:is on a PIP>>",
        "I <<PERFORMANCE:got '{rating_high}'>> this cycle",
        "my <<PERFORMANCE:raise was {pct}%>>, honestly kind of low",
        "{ROSTER_NAME:full} <<PERFORMANCE:is getting promoted to {level}>>, not announced yet",
    ),
}

# Review sentences by rating bucket; `{rating}`, `{comp}` and `{cycle}` come from the record itself.
REVIEW_OPENERS: dict[str, tuple[str, ...]] = {
    "high": (
        "{SUBJECT:full} had an exceptional half and is <<PERFORMANCE:rated '{rating}'>> for {cycle}.",
        "<<PERFORMANCE:Rating: {rating}>>. {SUBJECT:first} consistently raised the bar on {project}.",
    ),
    "mid": (
        "{SUBJECT:full} is <<PERFORMANCE:rated '{rating}'>> for {cycle}.",
        "{SUBJECT:first} had a steady half; <<PERFORMANCE:calibrated at '{rating}'>>.",
    ),
    "low": (
        "{SUBJECT:full} <<PERFORMANCE:was rated '{rating}'>> after calibration.",
        "This was a difficult cycle for {SUBJECT:first}, who is <<PERFORMANCE:rated '{rating}'>>.",
    ),
    "none": ("{SUBJECT:full} joined mid-cycle and is <<PERFORMANCE:not rated this cycle>>.",),
}
REVIEW_BODY: dict[str, tuple[str, ...]] = {
    "high": (
        "{SUBJECT:first} led the {project} launch and mentored two new hires.",
        "Peers, including {ROSTER_NAME:full}, called out {SUBJECT:first}'s incident handling "
        "during the {service} outage.",
        "Strong ownership of {service}; on-call load dropped noticeably.",
    ),
    "mid": (
        "{SUBJECT:first} delivered the {project} milestones on time.",
        "Would like to see more proactive communication in design reviews.",
        "Feedback from {ROSTER_NAME:first} was positive about collaboration on {service}.",
    ),
    "low": (
        "{SUBJECT:first} missed several deadlines on {project} and needed repeated reminders "
        "about code review turnaround.",
        "Quality issues in {service} changes led to two rollbacks.",
        "{ROSTER_NAME:full} raised concerns about responsiveness during on-call.",
    ),
    "none": ("Ramp-up on {service} is going well.",),
}
REVIEW_COMP = ("<<PERFORMANCE:Merit increase: {comp}%>>.", "Recommending a <<PERFORMANCE:{comp}% comp adjustment>>.")
REVIEW_NO_COMP = "<<PERFORMANCE:No merit increase this cycle>>."
REVIEW_PROMO = "<<PERFORMANCE:Nominated for promotion to {level}>>."
REVIEW_PIP = (
    "{SUBJECT:first} <<PERFORMANCE:was placed on a PIP>> on {pipdate} with biweekly check-ins.",
    "<<PERFORMANCE:Performance improvement plan>> for {SUBJECT:preferred} starts {pipdate}.",
)

TOKEN = re.compile(r"<<([A-Z_]+):(.*?)>>|\{([A-Za-z_]+)(?::([a-z_]+))?\}", re.DOTALL)


def _template_vocabulary() -> frozenset[str]:
    """Every word and number the templates and fillers can put outside a span; roster names and PINs avoid them."""
    texts: list[str] = [*CHAT_HARMLESS, *SPOKEN_HARMLESS, *REVIEW_COMP, REVIEW_NO_COMP, REVIEW_PROMO, *REVIEW_PIP]
    for group in (CHAT_PLANTED, SPOKEN_PLANTED, REVIEW_OPENERS, REVIEW_BODY):
        texts.extend(t for templates in group.values() for t in templates)
    texts.extend(v for values in FILLERS.values() for v in values)
    texts.extend(TICKET_PREFIXES)
    words: set[str] = set()
    for text in texts:
        words.update(w.casefold() for w in re.findall(r"[^\W_]+", TOKEN.sub(" ", text.replace("<<", " "))))
    return frozenset(words)


VOCAB = _template_vocabulary()
