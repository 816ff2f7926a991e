"""kb views, one module per feature: browse, editing, imports, search, matching."""
