"""The employee directory as data: who works here and every way their name can appear in text."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Employee:
    employee_id: str
    full_name: str
    preferred_name: str | None = None
    handle: str | None = None
    email: str | None = None
    manager_id: str | None = None
    org: str | None = None
    location: str | None = None

    def name_forms(self) -> set[str]:
        """Surface forms that identify this employee: full, preferred, first and last name, handle, e-mail."""
        forms: set[str] = set()
        for name in (self.full_name, self.preferred_name):
            if name:
                parts = name.split()
                forms.add(name)
                forms.update(p for p in parts if len(p) >= 2)
                if len(parts) > 2:
                    forms.add(f"{parts[0]} {parts[-1]}")
        if self.preferred_name and self.full_name:
            forms.add(f"{self.preferred_name.split()[0]} {self.full_name.split()[-1]}")
        if self.handle:
            forms.add(self.handle)
            forms.add("@" + self.handle.lstrip("@"))
        if self.email:
            forms.add(self.email)
            forms.add(self.email.split("@", 1)[0])
        return {f.strip() for f in forms if f and f.strip()}


@dataclass(frozen=True)
class Roster:
    employees: tuple[Employee, ...] = ()

    def __len__(self) -> int:
        return len(self.employees)

    def resolve_label(self, label: str | None) -> str | None:
        """The employee_id a display label (e.g. a transcript speaker name) refers to, if unambiguous."""
        if not label:
            return None
        wanted = label.strip().casefold()
        hits = {
            e.employee_id
            for e in self.employees
            if wanted in {(e.full_name or "").casefold(), (e.preferred_name or "").casefold(),
                          (e.handle or "").lstrip("@").casefold(), (e.email or "").casefold()}
        }
        return hits.pop() if len(hits) == 1 else None
