"""From a document's text to a :class:`PlanDraft`: noise removed, headings nested, blocks read for targets."""

from __future__ import annotations

from .model import DraftPoint, DraftSection, DraftTarget, DraftWorkItem, PlanDraft
from .noise import clean
from .structure import GUIDING_TITLES, Heading, build_tree, find_headings, find_title, find_year
from .targets import read_block, tidy, tidy_block
from .textnorm import normalize


class _Builder:
    """Walks the heading tree, collecting sections, work items and the text blocks to read for targets."""

    def __init__(self, text: str, norm: str, year: int | None) -> None:
        self.text = text
        self.norm = norm
        self.year = year
        self.sections: list[DraftSection] = []
        self.work_items: list[DraftWorkItem] = []
        self.targets: list[DraftTarget] = []

    def title_of(self, heading: Heading) -> str:
        """A heading's title, verbatim without extraction spaces."""
        return tidy(self.text[heading.body : heading.title_end])

    def read(self, start: int, end: int, section: str | None, work_item: int | None) -> None:
        """Propose targets for text[start:end]."""
        if end > start:
            self.targets.extend(
                read_block(self.text, self.norm, start, end, section, work_item, self.year, len(self.targets))
            )

    def add_section(self, heading: Heading, code: str, parent: str | None) -> None:
        """A section for ``heading``, then its intro, sub-sections and work items."""
        structural = [child for child in heading.children if child.level <= 3]
        intro_end = structural[0].start if structural else heading.end
        self.sections.append(
            DraftSection(
                code=code,
                title=self.title_of(heading),
                order=len(self.sections) + 1,
                level=1 if parent is None else 2,
                parent=parent,
                intro=tidy_block(self.text[heading.text_start : intro_end]),
            )
        )
        self.read(heading.text_start, intro_end, code, None)
        self.add_children(heading.children, code)

    def add_children(self, children: list[Heading], code: str) -> None:
        """Sub-sections (（一） with numbered items below them) or work items (1., or （一） without items)."""
        level_two = [child for child in children if child.level == 2]
        two_are_sections = any(any(grand.level == 3 for grand in child.children) for child in level_two)
        for child in children:
            if child.level == 2 and two_are_sections:
                self.add_section(child, f"{code}.{child.number}", code)
            elif child.level in (2, 3):
                self.add_work_item(child, code)

    def add_work_item(self, heading: Heading, section: str) -> None:
        """A work item with its verbatim text and its points."""
        points = [
            DraftPoint(
                marker="(n)" if point.level == 4 else "n是",
                number=point.number,
                text=tidy_block(self.text[point.body : point.end]),
            )
            for point in heading.children
            if point.level in (4, 5)
        ]
        self.work_items.append(
            DraftWorkItem(
                section=section,
                number=heading.number,
                title=self.title_of(heading),
                text=tidy_block(self.text[heading.text_start : heading.end]),
                points=points,
            )
        )
        if self.norm[heading.text_start : heading.end].strip():
            self.read(heading.text_start, heading.end, section, heading.number)
        else:
            # "1.新建公办园10所。": an item that is one sentence is its own target.
            self.read(heading.body, heading.title_end, section, heading.number)


def parse_text(text: str, year: int | None = None, title: str | None = None) -> PlanDraft:
    """Read a plan document's text into a draft. ``year`` and ``title`` override what the text says."""
    cleaned, noise = clean(text)
    norm = normalize(cleaned)
    headings = find_headings(norm)
    roots = build_tree(norm, headings)
    first_heading = headings[0].start if headings else len(norm)
    found_title, title_end = find_title(cleaned, norm, first_heading)
    draft_title = title or tidy(found_title)

    guiding = ""
    guiding_root = next(
        (root for root in roots if root.level == 1 and GUIDING_TITLES.match(norm[root.body : root.title_end].strip())),
        None,
    )
    if guiding_root is not None:
        guiding = tidy_block(cleaned[guiding_root.text_start : guiding_root.end])
    else:
        preamble = tidy_block(cleaned[title_end:first_heading])
        if len(preamble) > 20:
            guiding = preamble
    plan_year = year or find_year(normalize(draft_title), normalize(guiding), norm[:3000])

    builder = _Builder(cleaned, norm, plan_year)
    level_one = [root for root in roots if root.level == 1 and root is not guiding_root]
    if level_one:
        for root in level_one:
            builder.add_section(root, str(root.number), None)
    elif roots:
        # No 一、 headings: the document's top level is （一） or 1.; one section holds them.
        builder.sections.append(DraftSection(code="1", title=draft_title, order=1, level=1))
        builder.read(0 if guiding_root is None else title_end, roots[0].start, "1", None)
        builder.add_children(roots, "1")
    return PlanDraft(
        title=draft_title,
        year=plan_year,
        guiding_ideas=guiding,
        sections=builder.sections,
        work_items=builder.work_items,
        targets=builder.targets,
        noise=noise,
        text=cleaned,
    )
