"""Import Markdown troubleshooting guides, and the starter content, into the knowledge base.

A guide becomes one article per problem section with its symptoms (error strings) and solutions.
Re-importing is idempotent: each section's content hash is stored on Article.source_hash and only
changed sections are rewritten. The modules, in the order text flows through them:

- repair: bytes -> checked, mojibake-free text;      - blocks: Markdown -> top-level blocks;
- classify: what a heading or bold label means;       - extract: error strings, risk and tag heuristics;
- analysis: one section -> symptoms and solutions;    - code, scenarios: records read from code blocks;
- guide: a whole guide -> sections (pure);            - writer: one plan/apply for guides and starter content;
- starter: kb/content/<system>/ -> systems and articles, and the loaders that follow them.
"""

from .guide import guide_parse_bytes, parse_guide
from .repair import decode_guide, repair_text
from .shapes import GuideRejected, ImportReport, ParsedSection, ParsedSolution, ParsedSymptom
from .starter import content_import, parse_content_article
from .writer import guide_import, system_for_import

__all__ = [
    "GuideRejected", "ImportReport", "ParsedSection", "ParsedSolution", "ParsedSymptom", "content_import",
    "decode_guide", "guide_import", "guide_parse_bytes", "parse_content_article", "parse_guide", "repair_text",
    "system_for_import",
]
