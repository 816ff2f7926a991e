"""The relevance benchmark (``manage.py bench_relevance``): public guides nobody here wrote, their truth files,
and how well import, matching and search find the right section.

- ``material``: the fixtures (guides, truth, clean logs, seed error lines) and what counts as "the section";
- ``paste``: what a person sees after pasting text: signature matches first, then retrieval's related hits;
- ``measure``: the metrics, per split.
"""
