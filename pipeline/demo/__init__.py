"""Seeded, realistic demo nights: raw workforce logs with planted sensitive values and exact ground truth.

Why this exists: a scrubber can only be measured against data whose secrets are known. Every sensitive
value written into free text is recorded with its exact character offsets (Python str indices, i.e. code
points) under `_ground_truth/`, which sits outside the source folders so the pipeline never ingests it.
The same arguments give byte-identical files, so a failing evaluation can be replayed exactly.

Texts are built from templates: `{name}` is harmless filler, `{LABEL}` / `{LABEL:variant}` is a generated
sensitive value, and `<<LABEL:literal text>>` marks literal wording (e.g. performance talk) as a span.
Roster names are drawn so that no part of them is a word the templates use; hence any roster name form
found in a text lies inside a planted span, which keeps the ground truth complete, not just correct.
"""

from pipeline.demo.night import GROUND_TRUTH_DIR, PART_FILE, TRUTH_ID_FIELDS, generate_night

__all__ = ["GROUND_TRUTH_DIR", "PART_FILE", "TRUTH_ID_FIELDS", "generate_night"]
