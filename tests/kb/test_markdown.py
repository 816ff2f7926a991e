import pytest

from kb.markdown import MAX_BRACKETS_PER_PARAGRAPH, render_markdown, sanitize_html


@pytest.mark.parametrize(
    "hostile",
    [
        "<script>alert(1)</script>",
        '<img src="x" onerror="alert(1)">',
        "[click](javascript:alert(1))",
        '<a href="javascript:alert(1)">x</a>',
        '<div onclick="steal()">x</div>',
        '<iframe src="https://evil.example"></iframe>',
        '<svg><script>alert(1)</script></svg>',
        "<style>body{display:none}</style>",
    ],
)
def test_render_strips_scripts_handlers_and_javascript_urls(hostile):
    html = render_markdown(f"Intro\n\n{hostile}\n").html.lower()
    for forbidden in ("<script", "onerror", "onclick", "javascript:", "<iframe", "<style", "alert(1)"):
        assert forbidden not in html


def test_render_highlights_fenced_code_with_pygments():
    html = render_markdown("```bash\ndocker compose ps\n```\n").html
    assert '<div class="highlight">' in html
    assert '<span class="w">' in html


def test_code_block_inside_a_numbered_step_renders_as_a_block():
    html = render_markdown("1. Check the container:\n   ```bash\n   docker compose ps\n   ```\n2. Restart it\n").html
    assert '<div class="highlight">' in html
    assert "```" not in html


def test_render_builds_a_toc_from_subheadings_and_tables():
    rendered = render_markdown("## Fix it\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n### Step two\n")
    assert 'href="#fix-it"' in rendered.toc_html
    assert "<table>" in rendered.html


def test_paragraph_with_thousands_of_brackets_renders_as_text():
    text = " ".join(["[a"] * (MAX_BRACKETS_PER_PARAGRAPH * 20))
    html = render_markdown(text).html
    assert html.count("[a") == MAX_BRACKETS_PER_PARAGRAPH * 20
    assert "\\[" not in html


def test_brackets_inside_code_fences_are_left_alone():
    text = "```\n" + "[" * (MAX_BRACKETS_PER_PARAGRAPH * 5) + "\n```\n" + "[x" * (MAX_BRACKETS_PER_PARAGRAPH + 1)
    html = render_markdown(text).html
    assert "[" * (MAX_BRACKETS_PER_PARAGRAPH * 5) in html


def test_deeply_nested_list_falls_back_to_escaped_source():
    html = render_markdown("- " * 3000 + "<b>x</b>").html
    rendered = render_markdown("- " * 3000 + "<b>x</b>")
    assert rendered.degraded and html.startswith("<pre>")
    assert "&lt;b&gt;" in html


def test_nul_bytes_are_dropped():
    assert "\x00" not in render_markdown("a\x00b").html


def test_sanitize_keeps_links_with_safe_rel():
    html = sanitize_html('<a href="https://example.com">x</a>')
    assert 'href="https://example.com"' in html and "noopener" in html


@pytest.mark.parametrize("indent", ["", " ", "  ", "   "])
def test_headings_indented_up_to_three_spaces_render_as_headings(indent):
    rendered = render_markdown(f"Intro\n\n{indent}## Check the port\n\nText.")
    assert '<h2 id="check-the-port">Check the port</h2>' in rendered.html
    assert "check-the-port" in rendered.toc_html


def test_indented_hash_lines_inside_code_fences_stay_code():
    rendered = render_markdown("```bash\n   # a shell comment\necho hi\n```")
    assert "<h1" not in rendered.html and "# a shell comment" in rendered.html


def test_four_spaces_before_a_hash_is_still_a_code_block():
    assert "<h2" not in render_markdown("Intro\n\n    ## not a heading\n").html


def test_id_and_class_survive_only_where_the_renderer_puts_them():
    rendered = render_markdown(
        "## Restart {: #restart .btn }\n\n```python\nimport os\n```\n\n"
        '<p id="login-form" class="modal">x</p>\n\n<div class="highlight secret-banner">y</div>\n')
    html = rendered.html
    assert '<h2 id="restart">' in html and 'href="#restart"' in rendered.toc_html
    assert '<span class="kn">import</span>' in html and '<div class="highlight">' in html
    assert "login-form" not in html and "modal" not in html and "btn" not in html and "secret-banner" not in html


def test_external_images_become_links_and_local_ones_stay():
    html = render_markdown("![diagram](https://tracker.example/pixel.png) ![ours](/media/kb/flow.png)").html
    assert "<img" in html and 'src="/media/kb/flow.png"' in html
    assert 'src="https://tracker.example' not in html
    assert '<a href="https://tracker.example/pixel.png" rel="noopener noreferrer nofollow">diagram</a>' in html
