"""The disclosure corpus: labelled sentences composed from templates and slot fillers written for this project.

Every template is a sentence shape with slots ({condition}) and marked spans ([[H:...]] health, [[P:...]]
private life, [[F:...]] performance); the slots are filled from the lists below, and each sentence is then
written in one register (plain, chat shorthand, HR formal, an ASR transcript with fillers, a window title, a
form line). Negative templates are look-alikes with nothing to find ("the doctor in that show", "grace
period", "that build is sick", "union of two sets"). None of it comes from an evaluation set.

`build(seed)` gives the same records for the same seed. Templates are split into training and held-out by
their index, so the held-out part measures phrasings the model never saw, not just new fillers.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

LABELS = {"H": "HEALTH", "P": "PRIVATE", "F": "PERFORMANCE"}

SLOTS: dict[str, list[str]] = {
    "name": ["Priya", "Tomasz", "Aiyana", "Kwame", "Lena", "Mateo", "Yuki", "Oluwaseun", "Ines", "Ravi", "Sigrid",
             "Dmitri", "Fatima", "Joon", "Carmen", "Bram", "Anouk", "Tariq", "Maeve", "Hamid", "Zofia", "Eli"],
    "they": ["she", "he", "they"],
    "their": ["her", "his", "their"],
    "time": ["3", "10:30", "noon", "2pm", "tomorrow morning", "friday", "next week", "after standup", "4:15"],
    "day": ["monday", "tuesday", "wednesday", "thursday", "friday", "tomorrow", "next week", "the 14th"],
    "condition": ["type 1 diabetes", "diabetes", "migraines", "chronic migraines", "anxiety", "depression", "ADHD",
                  "long covid", "asthma", "epilepsy", "Crohn's disease", "IBS", "endometriosis", "MS", "lupus",
                  "a heart condition", "high blood pressure", "sleep apnea", "fibromyalgia", "PTSD", "bipolar disorder",
                  "an eating disorder", "OCD", "arthritis", "a herniated disc", "tinnitus", "celiac disease",
                  "breast cancer", "cancer", "a thyroid problem", "panic attacks", "insomnia", "vertigo", "psoriasis",
                  "a kidney problem", "glaucoma", "post-natal depression", "burnout", "a torn ACL", "shingles"],
    "acute": ["the flu", "covid", "a stomach bug", "food poisoning", "a chest infection", "strep throat",
              "a migraine", "a kidney stone", "pneumonia", "a fever", "tonsillitis", "norovirus", "a bad back",
              "a sprained ankle", "a concussion", "bronchitis", "an ear infection", "conjunctivitis"],
    "treatment": ["insulin injections", "chemo", "chemotherapy", "radiation therapy", "physio", "physical therapy",
                  "therapy", "counselling", "CBT", "antidepressants", "my meds", "dialysis", "IVF", "rehab",
                  "an infusion", "steroid injections", "blood thinners", "ADHD medication", "a course of antibiotics",
                  "immunotherapy", "speech therapy", "an inhaler", "hormone treatment", "a CPAP machine"],
    "procedure": ["surgery", "knee surgery", "back surgery", "a biopsy", "an MRI", "a colonoscopy", "a CT scan",
                  "an operation", "a hip replacement", "wisdom teeth out", "a root canal", "a mammogram",
                  "an endoscopy", "cataract surgery", "a hernia operation", "a C-section"],
    "specialist": ["oncologist", "psychiatrist", "therapist", "cardiologist", "neurologist", "dermatologist",
                   "gynecologist", "rheumatologist", "endocrinologist", "fertility clinic", "physio", "counsellor",
                   "GP", "specialist", "pain clinic", "sleep clinic", "psychologist", "urologist"],
    "accommodation": ["a standing desk for my back", "a private room for insulin injections",
                      "reduced hours during treatment", "a quiet room for my anxiety", "screen reader software",
                      "extra breaks for my condition", "a later start because of my meds",
                      "remote work for my immune condition", "an ergonomic chair for my sciatica",
                      "a parking spot near the door for my knee", "no night shifts because of my epilepsy",
                      "captioning for my hearing loss", "a fridge for my medication"],
    "partner": ["partner", "wife", "husband", "girlfriend", "boyfriend", "fiancé", "fiancée", "ex", "spouse"],
    "relative": ["mom", "dad", "mother", "father", "sister", "brother", "son", "daughter", "grandma", "grandpa",
                 "kid", "aunt", "uncle", "mother-in-law", "stepdad"],
    "breakup": ["broke up", "split up", "separated", "are getting divorced", "called off the wedding",
                "are taking a break", "are in couples counselling", "are splitting"],
    "family_trouble": ["in the middle of a custody battle", "going through a nasty divorce",
                       "dealing with my dad's drinking", "sorting out my parents' divorce", "in family court",
                       "caring for my mom full time", "dealing with my brother's arrest",
                       "sorting my grandma's funeral", "going through a separation", "dealing with a restraining order",
                       "moving out after the breakup", "fighting with my ex over the kids"],
    "pregnancy": ["pregnant", "expecting", "twelve weeks pregnant", "expecting twins", "trying for a baby",
                  "going through IVF", "having a baby in june", "on the adoption list"],
    "religion": ["fasting for Ramadan", "observing Shabbat", "going to mass", "at the mosque for Eid",
                 "at temple for Diwali", "observing Yom Kippur", "at bible study", "at my church group",
                 "observing Lent", "at the gurdwara", "praying five times a day", "converting to Judaism",
                 "at the Kingdom Hall", "at Friday prayers"],
    "union": ["union organizing meeting", "union meeting", "meeting with the union rep",
              "organizing a union", "signing union cards", "union drive", "collective bargaining session",
              "works council election", "strike vote", "Gewerkschaft meeting", "shop steward training"],
    "employer": ["Stripe", "Google", "a competitor", "another company", "Shopify", "a startup", "Monzo", "Atlassian",
                 "Datadog", "a bank", "the agency downtown", "Canva", "Zalando", "Spotify", "Klarna", "Wise"],
    "jobsearch": ["in a final round with {employer}", "interviewing at {employer}", "got an offer from {employer}",
                  "talking to a recruiter from {employer}", "doing a take-home for {employer}",
                  "on the job market", "job hunting", "applying elsewhere", "updating my CV to leave",
                  "on-site with {employer} on {day}", "negotiating an offer from {employer}",
                  "thinking of quitting", "handing in my notice", "looking for a new job"],
    "immigration": ["my visa expires in march", "waiting on my green card", "my H-1B renewal",
                    "my work permit is expiring", "an asylum hearing", "my residence permit appointment",
                    "waiting for my citizenship interview", "on a spouse visa", "my visa got denied",
                    "sponsorship for my visa", "my blue card application", "overstaying my visa",
                    "my I-485 interview", "undocumented"],
    "debt": ["drowning in credit card debt", "behind on rent", "filing for bankruptcy", "took a payday loan",
             "debt collectors keep calling", "my wages are being garnished", "can't make my mortgage payment",
             "in a debt management plan", "two months behind on my car loan", "maxed out my cards"],
    "identity": ["coming out to my parents", "transitioning", "gay", "bi", "in recovery", "sober for a year",
                 "at AA", "on parole", "in a same-sex relationship"],
    # performance fillers
    "rating": ["Meets", "Meets Most", "Exceeds", "Strong", "Solid", "Successful", "Needs Improvement",
               "Below", "Partially Meets", "Outstanding", "Developing", "Role Model", "a 2", "a 3", "3/5", "4 out of 5",
               "2 out of 5", "7/10", "Definitely Not", "Probably Not", "Top 10%", "Highly Successful"],
    "outcome": ["put on a PIP", "put on a performance plan", "given a final warning", "let go", "laid off",
                "managed out", "RIFed", "passed over for promo", "denied the promotion", "demoted",
                "moved to a coaching plan", "written up", "dismissed", "on the layoff list", "not getting the promo",
                "getting promoted to staff", "bumped to L6", "getting a retention bonus", "offered a counteroffer"],
    "amount": ["$145k", "€82,000", "£65k", "95k", "1.2M", "₹18,50,000", "seventeen lakh", "CHF 120'000",
               "12,000 euros", "8%", "3 percent", "40k in RSUs", "ninety thousand dollars", "1.234,56 €", "R$ 9.500"],
    "payword": ["bonus", "raise", "salary", "base", "comp", "refresher", "sign-on", "equity grant", "merit increase",
                "offer", "hike"],
    # look-alike fillers
    "tvdoc": ["House", "Grey's Anatomy", "Scrubs", "The Pitt", "ER", "Doctor Who", "The Good Doctor"],
    "thing": ["the build", "the pipeline", "the deploy", "the job", "the process", "the pod", "the worker",
              "the migration", "the release", "the branch", "the container", "the cron"],
}

# (template, ...) per concept; a template is a sentence with [[X:...]] spans and {slot}s.
POSITIVE: list[str] = [
    # health: conditions
    "i have [[H:{condition}]] so sometimes i need a minute",
    "fyi i was diagnosed with [[H:{condition}]] last month",
    "{name} mentioned {they} has [[H:{condition}]], go easy on the deadlines",
    "I've been struggling with [[H:{condition}]] again",
    "my [[H:{condition}]] is flaring up today",
    "{name}'s [[H:{condition}]] is why {they} misses the early calls",
    "between us, {they} was just diagnosed with [[H:{condition}]]",
    "Employee disclosed a diagnosis of [[H:{condition}]] and requested support.",
    "sorry, [[H:{condition}]] has been really bad this week",
    "turns out i have [[H:{condition}]], so that explains a lot",
    "living with [[H:{condition}]] makes on-call hard for me",
    "{name} is dealing with [[H:{condition}]] and might be slow to reply",
    # health: acute / sick leave
    "out sick today, [[H:{acute}]]",
    "I'm off with [[H:{acute}]], back {day} hopefully",
    "{name} is out with [[H:{acute}]] this week",
    "can't make it, [[H:sick with {acute}]]",
    "calling in sick, [[H:{acute}]] knocked me out",
    "Sick leave reason: [[H:{acute}]]",
    "{they} has been off since {day} with [[H:{acute}]]",
    "wfh today, [[H:recovering from {acute}]]",
    "I'm on [[H:sick leave for {condition}]] until {day}",
    "{name} is on [[H:medical leave for {procedure}]]",
    "taking [[H:stress leave]] for a few weeks",
    "{they}'s on [[H:burnout leave]] till the end of the month",
    "Absence reason recorded as [[H:{condition}]].",
    # health: treatments, procedures, appointments
    "I'm starting [[H:{treatment}]] next week so I'll be out tuesdays",
    "heading out early for [[H:{treatment}]]",
    "{name} has [[H:{treatment}]] every friday morning",
    "can we move the 1:1? I have [[H:{treatment}]] at {time}",
    "back from [[H:{treatment}]], catching up now",
    "I've got [[H:{procedure}]] on {day}, out for a week",
    "{they} is having [[H:{procedure}]] {day}",
    "recovering from [[H:{procedure}]], typing one-handed",
    "[[H:{specialist} appointment]] at {time}, back after",
    "I have a [[H:{specialist} appointment]] {day}",
    "leaving at {time} for my [[H:{specialist}]]",
    "{name} is at the [[H:{specialist}]] this morning",
    "seeing my [[H:{specialist}]] {day} so I'll miss standup",
    "gotta go, [[H:{specialist}]] called about my results",
    "waiting on [[H:biopsy results]], kind of distracted",
    "[[H:blood test]] at {time}, fasting so i'm grumpy",
    "I need to pick up [[H:my prescription]] at lunch",
    "my doctor upped [[H:my dose]] so i'm a bit foggy",
    "{they} takes [[H:{treatment}]] and can't do the offsite drinks",
    # health: accommodations
    "I asked HR for [[H:{accommodation}]]",
    "Accommodation request: [[H:{accommodation}]].",
    "{name} needs [[H:{accommodation}]], facilities is on it",
    "can we book [[H:{accommodation}]] for the offsite?",
    "approved: [[H:{accommodation}]]",
    # private: relationships and family
    "my {partner} and I [[P:{breakup}]]",
    "sorry i'm off today, my {partner} and i [[P:{breakup}]] last night",
    "{name} and {their} {partner} [[P:{breakup}]], be kind",
    "[[P:my {partner} left me]] and i can't focus",
    "I'm [[P:{family_trouble}]] so my hours are weird",
    "{they} is [[P:{family_trouble}]]",
    "need friday off, [[P:{family_trouble}]]",
    "my {relative} [[P:is in rehab]] so I'm driving up this weekend",
    "[[P:my {relative} passed away]] on {day}, taking bereavement leave",
    "{name}'s [[P:{relative} died]] last week",
    "my {relative} [[P:got arrested]] and i have to deal with it",
    "[[P:I'm {pregnancy}]], haven't told my manager yet",
    "{name} is [[P:{pregnancy}]], keep it quiet",
    "we're [[P:{pregnancy}]]! due in october",
    "Employee informed HR that she is [[P:{pregnancy}]].",
    "[[P:had a miscarriage]] last week, need some time",
    "i'm [[P:{identity}]] and not out at work",
    "{name} told me {they} is [[P:{identity}]]",
    "[[P:dating {name} from finance]], don't tell anyone",
    "{name} [[P:is seeing someone on the sales team]]",
    # private: religion
    "I'll be [[P:{religion}]] so no lunch meetings please",
    "{name} is [[P:{religion}]] this month",
    "leaving early on fridays, [[P:{religion}]]",
    "can we avoid {day}? I'm [[P:{religion}]]",
    # private: union
    "there's a [[P:{union}]] at {time}, you coming?",
    "{name} went to the [[P:{union}]] last night",
    "I [[P:signed a union card]] today",
    "don't tell management but {they} is [[P:organizing a union]]",
    "heading to the [[P:{union}]] after work",
    "{name} is [[P:the union rep]] for our floor",
    "i [[P:joined the union]] last month",
    # private: job search
    "I'm [[P:{jobsearch}]], so keep it quiet",
    "heads up, {name} is [[P:{jobsearch}]]",
    "can't do {day}, [[P:{jobsearch}]]",
    "{they}'s [[P:{jobsearch}]] and might leave",
    "pushing my 1:1, I'm [[P:{jobsearch}]]",
    "Re: [[P:{jobsearch}]]",
    "don't tell anyone, [[P:{jobsearch}]]",
    # private: immigration and debt
    "[[P:{immigration}]] so I can't travel right now",
    "{name} is stressed, [[P:{immigration}]]",
    "I need a letter from HR for [[P:{immigration}]]",
    "i'm [[P:{debt}]], that's why i asked about overtime",
    "{name} is [[P:{debt}]] apparently",
    "honestly [[P:{debt}]] and it's wrecking my sleep",
    # performance where rules have no shape to hold
    "{name} was [[F:{outcome}]]",
    "heard {they} is [[F:{outcome}]]",
    "i'm being [[F:{outcome}]] apparently",
    "Outcome of review: [[F:{outcome}]].",
    "{name} got [[F:{outcome}]] after the calibration",
    "{name} came out of calibration at [[F:{rating}]]",
    "my rating this cycle: [[F:{rating}]]",
    "Overall rating - [[F:{rating}]]",
    "they gave me [[F:{rating}]] again",
    "{name} landed at [[F:{rating}]] in the talent review",
    "Would you promote? [[F:{rating}]]",
    "my {payword} is [[F:{amount}]] this year",
    "{name}'s {payword} came in at [[F:{amount}]]",
    "got a [[F:{amount}]] {payword}",
    "they offered [[F:{amount}]] base",
    "Compensation change: {payword} [[F:{amount}]]",
    # --- more shapes: HR formal, forms, window titles, transcripts, indirect talk
    "Per the employee's note, [[H:{condition}]] requires a flexible schedule.",
    "HR case note: associate reports [[H:{condition}]]; OH referral made.",
    "Reason for absence: [[H:{procedure}]]",
    "Fit note received: [[H:{acute}]], signed off for two weeks.",
    "Return-to-work meeting after [[H:{procedure}]] scheduled for {day}.",
    "Occupational health recommends [[H:{accommodation}]].",
    "Leave type: medical ([[H:{condition}]])",
    "[[H:{specialist} appointment]] - Outlook",
    "Calendar: [[H:{treatment}]] (private)",
    "Re: [[H:sick note for {acute}]] - Outlook",
    "so um yeah i've been uh on [[H:{treatment}]] since like march",
    "and then the doctor said it's [[H:{condition}]] so",
    "i'm [[H:pumping insulin]] in the bathroom between calls",
    "need a room to [[H:take my injection]] at lunch",
    "sorry, [[H:panic attack]] before the demo, back now",
    "my [[H:therapist]] says i need to set boundaries",
    "can't drink at the party, [[H:on antibiotics]]",
    "{name} fainted at the offsite, [[H:low blood sugar]]",
    "{they} is [[H:in hospital]] after the accident",
    "[[H:in the ER]] with my {relative}, might be offline",
    "I'm [[H:hard of hearing]], please turn on captions",
    "i [[H:broke my wrist]] skiing so typing is slow",
    "{name} has been [[H:off on long-term sick]] since spring",
    "[[H:my back is wrecked]] from the {procedure}",
    "{they} [[H:relapsed]] and is taking time off",
    "I'm [[H:going blind in one eye]], it's a whole thing",
    "[[H:waiting on a {condition} diagnosis]], brain is mush",
    "the [[H:chemo]] makes me tired after 3",
    "[[H:pregnant and sick every morning]], joining late",
    "Speaker 2: uh i'll be out [[H:for my {procedure}]] next week",
    "ngl the [[H:{treatment}]] is kicking my butt",
    "{name}'s [[H:{procedure}]] went ok, {they} is home now",
    # private life
    "Re: [[P:my divorce]] - time off request",
    "I'm [[P:getting divorced]] so things are chaotic",
    "[[P:custody hearing]] on {day}, can't move it",
    "my {partner} [[P:moved out]] last week",
    "[[P:my marriage is falling apart]] tbh",
    "{name} [[P:left {their} {partner}]], it's messy",
    "[[P:i'm moving in with my girlfriend]] so new address soon",
    "we [[P:got engaged]]!! don't tell the team yet",
    "my {partner} [[P:cheated on me]]",
    "[[P:my {relative} is in prison]] and visiting day is {day}",
    "[[P:my {relative} has dementia]] so I'm the carer now",
    "[[P:I'm a single parent]] so I can't do late calls",
    "[[P:we lost the baby]]",
    "[[P:my {relative} kicked me out]], staying with friends",
    "I'm [[P:fostering]] a kid starting {day}",
    "[[P:adopting]] a baby, paperwork all week",
    "Employee requested leave due to [[P:a family court date]].",
    "HR note: employee disclosed [[P:domestic abuse at home]]; EAP offered.",
    "Reason: [[P:bereavement]] ({relative})",
    "I'm [[P:{religion}]], so no food at the team lunch",
    "[[P:Eid]] on {day}, taking the day",
    "{name} [[P:converted to Islam]] last year",
    "I [[P:go to church]] sunday mornings so no deploys then",
    "[[P:as a Muslim]] I'd rather skip the bar",
    "[[P:as a Catholic]] that joke landed badly",
    "i'm [[P:jewish]] so friday evening is out",
    "Calendar: [[P:{union}]] (personal)",
    "the [[P:union vote]] is {day}, I'm voting yes",
    "{name} is [[P:on the organizing committee]] for the union",
    "[[P:talked to the union]] about my contract",
    "[[P:we're unionizing]], keep it quiet",
    "[[P:filed a grievance through the union]]",
    "[[P:I'm a union member]] so I know my rights",
    "[[P:final round at {employer}]] on {day}",
    "[[P:recruiter from {employer}]] called me again",
    "my [[P:interview with {employer}]] went well!",
    "[[P:accepted an offer at {employer}]], telling my manager {day}",
    "[[P:got rejected by {employer}]] after the onsite",
    "taking a 'dentist' appointment, really [[P:a screen with {employer}]]",
    "{they} [[P:has an offer from {employer}]] and might take it",
    "Re: [[P:Interview confirmation - {employer}]]",
    "[[P:{employer} onsite prep]].docx - Word",
    "[[P:Offer letter - {employer}]].pdf",
    "Speaker 1: so yeah i've been uh [[P:interviewing around]] a bit",
    "i'm [[P:on a visa]] so I can't switch teams yet",
    "[[P:my work visa]] depends on this job",
    "[[P:immigration lawyer]] at {time}, back after",
    "{name} [[P:is undocumented]], please don't share {their} address",
    "[[P:my asylum case]] is on {day}",
    "[[P:visa interview at the consulate]] {day}",
    "[[P:my green card came through]]!!",
    "i'm [[P:broke until payday]] lol can't do the dinner",
    "[[P:the bank is repossessing my car]]",
    "[[P:I owe the IRS]] a lot this year",
    "[[P:debt counselling]] appointment at {time}",
    "my [[P:credit score tanked]] after the divorce",
    "[[P:in debt]] up to my ears",
    "{name} [[P:borrowed money from everyone]] on the team",
    "[[P:my {relative} is gay]] and my family is not ok with it",
    "[[P:I'm trans]] and not out to the client",
    "[[P:I'm in AA]], so no bar for me",
    "[[P:my {partner} and I are trying IVF]]",
    "I [[P:voted for the green party]]",
    "[[P:I'm a member of the Labour party]]",
    # performance phrasing without a shape
    "{name} [[F:is not going to make it through probation]]",
    "[[F:they want to exit {name}]] next month",
    "[[F:{name} is on the bubble]] for the layoffs",
    "[[F:my manager wants me out]]",
    "[[F:I'm getting a formal warning]] for the outage",
    "{name} [[F:didn't get the bump]] this cycle",
    "[[F:I was told I'm underperforming]]",
    "[[F:{name}'s contract won't be renewed]]",
    "[[F:we're letting {name} go]] on {day}",
    "[[F:HR is building a case against]] {name}",
    "[[F:Eligible for promotion: No]]",
    "Promotion readiness: [[F:Not Ready]]",
    "Talent review - {name} - [[F:Low performer]]",
    "Retention risk: [[F:High]] - {name}",
    "9-box: [[F:bottom left]]",
    "[[F:Perf review - {name} - Needs Improvement]].docx",
    # --- third batch: indirect and narrated disclosures
    "{name} told the team {they} is [[H:going through chemo]]",
    "she mentioned she's been [[H:seeing a therapist for {condition}]]",
    "I'll need [[H:time off for {procedure}]] in {day}",
    "my [[H:{condition} meds]] make me drowsy after lunch",
    "can I get [[H:a desk near the bathroom because of my {condition}]]?",
    "I requested [[H:a flexible schedule for my {treatment}]]",
    "{name} has [[H:a {specialist} follow-up]] every month",
    "notes: {name} out [[H:for {procedure}]], back {day}",
    "um so i i've got [[H:{condition}]] and uh it's been rough",
    "because of [[H:my {condition}]] I can't do the travel",
    "{they} went home early, [[H:{acute}]] I think",
    "OOO: [[H:{procedure}]]",
    "Subject: [[H:doctor's note for {acute}]]",
    "{name} collapsed at work and was [[H:taken to hospital]]",
    "I had [[H:a mental health crisis]] last week",
    "[[H:my {condition} diagnosis]] is why I've been quiet",
    "{they} has [[H:a hearing aid]] so please face the camera",
    "{name} is [[H:recovering from a stroke]]",
    "i get [[H:{condition} attacks]] when it's this stressful",
    "[[P:my {partner} and I are separating]], so bear with me",
    "{name} [[P:is getting divorced]] and needs flexibility",
    "i have to leave early, [[P:{relative} has a court hearing]]",
    "we're [[P:going through a rough patch]] at home",
    "[[P:my {relative} is in the hospital]] so I'm distracted",
    "[[P:my {relative} is dying]], I'll be in and out",
    "{they} just [[P:lost {their} {relative}]]",
    "taking leave, [[P:my {relative} passed]] on {day}",
    "[[P:I'm the sole carer for my {relative}]]",
    "so um [[P:my {partner} moved out]] and uh yeah",
    "I'm [[P:in a final round with {employer}]] on {day}",
    "{name} has [[P:a second interview with {employer}]]",
    "[[P:{employer} made me an offer]], thinking about it",
    "I'm [[P:talking to {employer}]] about a role",
    "[[P:I've been applying to other jobs]]",
    "[[P:I'm planning to quit]] after bonuses pay out",
    "[[P:i'm leaving for {employer}]], don't tell anyone yet",
    "{name} [[P:is organizing the union drive]]",
    "a few of us [[P:are talking about forming a union]]",
    "[[P:union organizing meeting]] at the pub {day}",
    "{they} [[P:is a union steward]]",
    "[[P:my visa status]] is uncertain right now",
    "{name} [[P:needs visa sponsorship]] to stay",
    "[[P:my H-1B lottery]] didn't go through",
    "I can't travel until [[P:my residence permit is renewed]]",
    "[[P:I'm on a dependent visa]]",
    "[[P:I'm behind on my rent]] this month",
    "[[P:I've got a lot of debt]] from the divorce",
    "{name} [[P:declared bankruptcy]] last year",
    "[[P:I pray at lunchtime]], is there a quiet room?",
    "[[P:I'm observing Ramadan]] so no lunch meetings",
    "{name} [[P:goes to synagogue on saturdays]]",
    "[[P:we're expecting our first baby]] in {day}",
    "[[P:I'm going on maternity leave]] in the spring",
    "[[P:she's pregnant]] but hasn't told anyone",
    "[[P:my {partner} is pregnant]] so I may need paternity leave",
]

# Look-alikes: the same words, nothing about a person's health, private life or performance.
NEGATIVE: list[str] = [
    "the doctor in {tvdoc} is hilarious",
    "watching {tvdoc} tonight, the surgery episode",
    "new season of {tvdoc} drops {day}",
    "there's a 30 day grace period on the invoice",
    "the token has a grace period of 5 minutes",
    "that build is sick, nice work",
    "this new dashboard is sick",
    "{thing} is healthy again",
    "health check on {thing} is failing",
    "service health dashboard is green",
    "the union of two sets is their combined elements",
    "use a union type for the response",
    "SQL UNION ALL is faster here",
    "kill {thing} and restart it",
    "{thing} was terminated by the scheduler",
    "{thing} got promoted to production",
    "promote to production after QA",
    "ratings of the new café are great",
    "the app has a 4.5 rating on the store",
    "the movie got 7/10 from me",
    "we need to pay down tech debt",
    "tech debt is killing the sprint",
    "breaking up the monolith into services",
    "we should divorce the UI from the API layer",
    "the interview loop for the new hire is on {day}",
    "I'm interviewing a candidate at {time}",
    "final round of code review on {day}",
    "the offer letter template is in the drive",
    "visa card payments are failing",
    "the Ramadan campaign goes live {day}",
    "pregnant pause in the demo, lol",
    "migrating the cluster this weekend",
    "memory leak in {thing} again",
    "patient record schema needs a new index",
    "the insulin dose field in the clinic app is broken",
    "we're building the appointment booking flow for the clinic",
    "the therapy app client wants a demo {day}",
    "the hospital dashboard shipped",
    "health bar in the game UI is off by one",
    "{thing} is sick of my retries, ha",
    "the bonus pool for the org is set by finance",
    "Ratings scale policy: Exceeds, Meets, Below.",
    "salary bands are published on the wiki",
    "our budget is 40k for the quarter",
    "the team got a shout out at the all hands",
    "I'm out at {time} for lunch",
    "taking {day} off for a long weekend",
    "on leave {day}, back monday",
    "going to the gym after work",
    "my {relative} is visiting this weekend",
    "my {partner} recommended this restaurant",
    "the church on main street has parking",
    "mass update of the records is running",
    "the job market data feed is late",
    "recruiting pipeline dashboard is updated",
    "debt to equity ratio in the report",
    "the layoff scenario in the finance model",
    "cold medicine ads in the campaign",
    "Doctor Strange was fine I guess",
    "the patient is {thing}, wait for it",
    "fever pitch at the launch lol",
    "stress test on {thing} at {time}",
    "I'm dying to see the new release",
    "that meeting gave me a headache, lol",
    "my back-end is broken, the service I mean",
    "the PIP package index is slow",
    "pip install requests",
    "let go of the mouse",
    "the alert fired twice",
    "sales were below expectations",
    "we're expecting the shipment {day}",
    "expecting the deploy to finish by {time}",
    "the rep from the vendor is calling at {time}",
    "the strike price in the model is wrong",
    "work permit module of the HR app needs tests",
    "green card color in the design system",
    "Meeting notes - sprint planning",
    "Re: offsite agenda",
    "Q3 planning.xlsx - Excel",
    "{name} is on holiday until {day}",
    "{name} is presenting at {time}",
    "congrats to {name} on the launch!",
    "the pump for the office aquarium broke",
    "injection attack in the login form, patch it",
    "dependency injection makes this testable",
    "sick of this flaky test",
    "that demo was sick",
    "broke up the PR into three",
    "we split up the work for the sprint",
    "the doctor who fixed the printer was the IT guy lol",
    "our PM is a Doctor Who fan",
    "marriage of the two datasets is done",
    "parent and child nodes in the tree",
    "the baby monitor app launch is {day}",
    "pregnancy app client wants new screens",
    "our health insurance provider changed the portal",
    "benefits enrollment closes {day}",
    "the union of the two configs is the final config",
    "church street office is closing",
    "the mass spectrometer data is in",
    "faith in this release is low lol",
    "visa expiry validation in the checkout form",
    "the immigration service API docs are out of date",
    "the job search feature on the careers site is down",
    "interview questions for the backend role are in the doc",
    "the final round of the hackathon is {day}",
    "we got an offer from the vendor on the license",
    "debt collection module needs a refactor",
    "bankruptcy filings dataset for the client",
    "the layoff of {thing} workers is automatic at night",
    "we let go of the old monitoring stack",
    "the feature got cut from the release",
    "terminated the process and restarted",
    "the contract with the vendor was not renewed",
    "warning: deprecated API in {thing}",
    "final warning in the logs before the crash",
    "{thing} is on probation after last week's flake",
    "grace period for the trial is 14 days",
    "the depression in the chart is the holiday dip",
    "cancer research charity run on {day}, sign up!",
    "mental health day for everyone on {day}, company wide",
    "EAP resources are on the intranet",
    "the company's parental leave policy is on the wiki",
    "sick leave policy is 10 days a year",
    "promotion cycle timeline is in the HR doc",
    "rating scale: Exceeds, Meets, Below",
    "the retention policy for logs is 30 days",
    "the health of {thing} is degraded",
    "{thing} died again, restarting",
    "{thing} is in critical condition lol",
    "operated on the legacy code all day",
    "surgery on the schema this weekend",
    "that spreadsheet gave me a headache",
    "i'm dead 😂",
    "this bug is killing me",
    "lol i'm so tired of meetings",
    "need coffee, slept badly",
    "my {relative} sent me this meme",
    "my {partner} and I went hiking on the weekend",
    "we're going to my {relative}'s for dinner",
    "my {relative} is starting university",
    "dinner with my {partner} tonight, logging off at 6",
    "Happy Diwali everyone!",
    "Eid Mubarak to all who celebrate",
    "office closed for Good Friday",
    "the recruiter team is hiring three engineers",
    "interviewing candidates all afternoon",
    "I'm on the interview panel {day}",
    "onboarding the new hire {day}",
    "the new hire starts on {day}",
    "HR is updating the handbook",
    "Speaker 1: um so the uh the migration is done",
    "SPEAKER_02: yeah i think we can ship it",
]

FILLERS = ["um", "uh", "like", "you know", "i mean", "so"]
CHAT_SWAPS = {"you": "u", "are": "r", "because": "bc", "tomorrow": "tmrw", "please": "pls", "right now": "rn",
              "going to": "gonna", "I don't know": "idk", "to be honest": "tbh", "with": "w/"}
WINDOW_APPS = ["Slack", "Outlook", "Microsoft Teams", "Notion", "Google Docs", "Word", "Gmail", "Zoom"]

# Other languages: translations of a few shapes, same markers.
FOREIGN: list[str] = [
    "ich bin [[H:krankgeschrieben]] bis {day}",
    "ich habe morgen einen [[H:Termin beim Psychiater]]",
    "{name} hat [[H:Diabetes]] und braucht Pausen",
    "meine Frau und ich haben uns [[P:getrennt]]",
    "ich bin [[P:schwanger]], bitte noch nichts sagen",
    "ich habe ein [[P:Vorstellungsgespräch bei {employer}]]",
    "{name} wurde [[F:gekündigt]]",
    "je suis [[H:en arrêt maladie]] jusqu'à lundi",
    "j'ai un [[H:rendez-vous chez le cardiologue]] à {time}",
    "{name} a [[H:un cancer]], soyez patients",
    "mon mari et moi [[P:on divorce]]",
    "je suis [[P:enceinte]], ne dites rien",
    "j'ai un [[P:entretien chez {employer}]] vendredi",
    "{name} a été [[F:licencié]]",
    "estoy [[H:de baja por depresión]]",
    "tengo [[H:cita con el oncólogo]] el {day}",
    "mi novio y yo [[P:lo dejamos]]",
    "estoy [[P:embarazada]], no digas nada",
    "tengo una [[P:entrevista con {employer}]]",
    "{name} fue [[F:despedido]]",
    "sono [[H:in malattia]] fino a lunedì",
    "mia moglie e io [[P:ci siamo separati]]",
    "ik ben [[H:ziek thuis]] met griep",
    "ik heb een [[P:sollicitatiegesprek bij {employer}]]",
]
FOREIGN_NEGATIVE: list[str] = [
    "der Build ist wieder grün",
    "la réunion est à {time}",
    "el despliegue terminó bien",
    "die Gewerkschaft der Daten ist ein Witz",  # a pun on union, no disclosure
    "la période de grâce est de 30 jours",
]


@dataclass(frozen=True)
class Record:
    text: str
    spans: tuple[tuple[int, int, str], ...]
    template: int  # index into the combined template list, for the split


_SLOT = re.compile(r"\{(\w+)\}")
_SPAN = re.compile(r"\[\[([HPF]):(.*?)\]\]")


def _fill(template: str, rng: random.Random) -> str:
    for _ in range(3):  # fillers may hold slots of their own ({employer} in a job-search phrase)
        template = _SLOT.sub(lambda m: rng.choice(SLOTS[m.group(1)]), template)
    return template


def _segments(filled: str) -> list[tuple[str, str | None]]:
    """The filled template as (text, label) pieces: spans carry their label, the rest None."""
    pieces, pos = [], 0
    for m in _SPAN.finditer(filled):
        if m.start() > pos:
            pieces.append((filled[pos : m.start()], None))
        pieces.append((m.group(2), LABELS[m.group(1)]))
        pos = m.end()
    if pos < len(filled):
        pieces.append((filled[pos:], None))
    return pieces


def _chat(piece: str, rng: random.Random) -> str:
    piece = piece.lower()
    for long, short in CHAT_SWAPS.items():
        if rng.random() < 0.6:
            piece = re.sub(rf"\b{re.escape(long.lower())}\b", short, piece)
    return piece.replace("'", "") if rng.random() < 0.3 else piece


def _asr(piece: str, rng: random.Random) -> str:
    words = piece.lower().replace(",", "").replace(".", "").replace("?", "").replace("!", "").split(" ")
    out = []
    for i, w in enumerate(words):
        if i and w and rng.random() < 0.12:
            out.append(rng.choice(FILLERS))
        out.append(w)
        if w and rng.random() < 0.05:
            out.append(w)  # a repeated word, as speech recognisers write a stumble
    return " ".join(out)


def _formal(piece: str, rng: random.Random) -> str:
    return piece.replace("i'm", "I am").replace("I'm", "I am").replace("can't", "cannot").replace("gotta", "must")


REGISTERS: dict[str, Callable[[str, random.Random], str]] = {
    "plain": lambda s, rng: s,
    "chat": _chat,
    "asr": _asr,
    "formal": _formal,
    "upper": lambda s, rng: s.upper(),
}
REGISTER_WEIGHTS = {"plain": 4, "chat": 3, "asr": 2, "formal": 1, "upper": 0.3}


def _frame(register: str, rng: random.Random) -> tuple[str, str]:
    """What goes around a sentence in its register: a speaker label, a window title's app, a quote."""
    if register == "asr":
        return rng.choice(["", "Speaker 1: ", "SPEAKER_02: ", "[00:14:32] ", "so "]), ""
    if register == "chat" and rng.random() < 0.3:
        return rng.choice(["ok ", "yeah ", "lol ", "ugh ", "hey "]), rng.choice(["", " :(", " lol", " tbh", " 🙃"])
    if register == "plain" and rng.random() < 0.15:
        return "", f" - {rng.choice(WINDOW_APPS)}"
    return "", ""


def render(template: str, index: int, rng: random.Random) -> Record:
    register = rng.choices(list(REGISTER_WEIGHTS), weights=list(REGISTER_WEIGHTS.values()))[0]
    transform = REGISTERS[register]
    prefix, suffix = _frame(register, rng)
    text, spans = prefix, []
    for piece, label in _segments(_fill(template, rng)):
        written = transform(piece, rng)
        if label:
            # a span never starts or ends on a space
            core = written.strip()
            lead = len(written) - len(written.lstrip())
            text += written[:lead]
            spans.append((len(text), len(text) + len(core), label))
            text += core + written[lead + len(core):]
        else:
            text += written
    text = re.sub(r"  +", " ", text + suffix) if "  " not in text else text + suffix
    return Record(text=text, spans=tuple(spans), template=index)


def templates() -> list[tuple[str, bool]]:
    """Every template with whether it holds spans, in a fixed order (the split's indices refer to it)."""
    return [(t, True) for t in POSITIVE + FOREIGN] + [(t, False) for t in NEGATIVE + FOREIGN_NEGATIVE]


def build(seed: int = 12, per_positive: int = 40, per_negative: int = 30) -> list[Record]:
    """The corpus: each template rendered `per_*` times with fresh fillers and registers; deterministic."""
    rng = random.Random(seed)
    records, seen = [], set()
    for index, (template, positive) in enumerate(templates()):
        for _ in range(per_positive if positive else per_negative):
            record = render(template, index, rng)
            if record.text not in seen:
                seen.add(record.text)
                records.append(record)
    return records


def split(records: list[Record], heldout_every: int = 7) -> tuple[list[Record], list[Record]]:
    """Every seventh template (all its renderings) is held out: unseen phrasings, not just unseen fillers."""
    train = [r for r in records if r.template % heldout_every != 3]
    heldout = [r for r in records if r.template % heldout_every == 3]
    return train, heldout


# --- everyday work talk: the background a disclosure sits in ----------------------------------------------------
WORK: dict[str, list[str]] = {
    "who": ["I", "we", "{name}", "the team", "QA", "infra", "the client", "our PM", "design", "you", "they", "the vendor",
            "ops", "marketing", "legal", "finance", "support", "the intern", "my manager", "the on-call"],
    "did": ["merged", "reverted", "deployed", "reviewed", "rebased", "shipped", "rolled back", "fixed", "broke",
            "updated", "tested", "documented", "archived", "renamed", "closed", "reopened", "scoped", "estimated",
            "demoed", "benchmarked", "migrated", "paused", "restarted", "cleaned up", "triaged", "split"],
    "what": ["the PR", "the hotfix", "the migration", "the release notes", "the dashboard", "the ticket", "the spec",
             "the deck", "the roadmap", "the onboarding doc", "the cron job", "the feature flag", "the API client",
             "the budget sheet", "the retro notes", "the design review", "the load test", "the search index",
             "the billing service", "the staging env", "the invoice run", "the test suite", "the helm chart",
             "the Q3 plan", "the OKRs", "the customer escalation", "the RFC", "the postmortem", "the sprint board"],
    "when": ["today", "this morning", "last night", "yesterday", "before lunch", "after standup", "on {day}",
             "just now", "an hour ago", "over the weekend", "by EOD", "next sprint", "at {time}"],
    "tail": ["", "", ", pls review", ", lmk if anything looks off", " 🎉", ", ping me if it breaks",
             ", notes in the doc", ", should be fine", " again lol", ", thanks all", "?", ", finally"],
}
WORK_SHAPES = [
    "{who} {did} {what} {when}{tail}",
    "can someone look at {what}? {who} {did} it {when}",
    "{what} is blocked on {name}",
    "heads up: {who} {did} {what} {when}",
    "quick q about {what}",
    "moving {what} to {day}",
    "{name} can you take {what}?",
    "thanks {name} for {what}!",
    "standup: {did} {what}, next up {what}",
    "is {what} still on for {day}?",
    "who owns {what}?",
    "{what} - {name} - due {day}",
    "Re: {what}",
    "{what}.docx - Word",
    "notes from the {what} sync",
    "I'll be out {when}, {name} is covering {what}",
    "coffee chat with {name} {when}",
    "lunch at {time}?",
    "running late, train delayed",
    "my {relative} is visiting so I'm logging off at {time}",
    "we're hiring for {what}, referrals welcome",
]


def work_line(rng: random.Random) -> str:
    text = rng.choice(WORK_SHAPES)
    for _ in range(3):
        text = _SLOT.sub(lambda m: rng.choice(WORK.get(m.group(1)) or SLOTS[m.group(1)]), text)
    return text


def build_with_background(
    seed: int = 12, background: int = 6000, mixed_share: float = 0.35, other_text: Sequence[str] = ()
) -> list[Record]:
    """The templated corpus plus everyday work lines with nothing to find, and a share of the templated records
    set beside a work line in one text, so the model learns that what surrounds a disclosure is not part of it.
    `other_text` is real text of any kind that holds no disclosure (or hardly any), added as negatives: templates
    alone teach that every sentence discloses something."""
    rng = random.Random(seed + 1)
    records = build(seed)
    out, seen = [], {r.text for r in records}
    for record in records:
        if rng.random() < mixed_share:
            line = work_line(rng)
            if rng.random() < 0.5:
                text = line + rng.choice([". ", ", ", " - ", "\n", " btw "])
                shift = len(text)
                record = Record(text + record.text, tuple((s + shift, e + shift, l) for s, e, l in record.spans),
                                record.template)
            else:
                record = Record(record.text + rng.choice([". ", " | ", "\n", ". also "]) + line, record.spans,
                                record.template)
        out.append(record)
    added = 0
    background_template = len(templates())  # its own template index: split like every other
    while added < background:
        text = work_line(rng)
        register = rng.choices(list(REGISTER_WEIGHTS), weights=list(REGISTER_WEIGHTS.values()))[0]
        text = REGISTERS[register](text, rng)
        if text not in seen:
            seen.add(text)
            out.append(Record(text, (), background_template + added % 7))
            added += 1
    for i, text in enumerate(other_text):
        if text not in seen:
            seen.add(text)
            out.append(Record(text, (), background_template + 7 + i % 7))
    return out
