"""Staff write articles in the app: create, edit (every save is a revision) and a live Markdown preview."""

from collections.abc import Callable
from functools import wraps

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from common.htmx import render_page_or_fragment

from .. import selectors, services
from ..forms.articles import ArticleForm, PreviewForm, markdown_render_or_error
from ..models import Article, System

View = Callable[..., HttpResponse]


def staff_required(view: View) -> View:
    """Anonymous visitors go to the login page; signed-in non-staff get a 403."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not request.user.is_staff:
            raise PermissionDenied("Only staff can edit articles.")
        return view(request, *args, **kwargs)

    return wrapper


def _preview_html(form: ArticleForm) -> str:
    """Rendered body for the no-JavaScript "Preview" button (the htmx preview uses article_preview)."""
    body = form.cleaned_data.get("body") if form.is_bound and hasattr(form, "cleaned_data") else None
    if not body:
        return ""
    try:
        return markdown_render_or_error(body)
    except ValidationError:
        return ""


def _form_page(request: HttpRequest, *, form: ArticleForm, system: System, article: Article | None,
               preview_html: str, status: int = 200) -> HttpResponse:
    return render(request, "kb/article_form.html", {
        "form": form, "system": system, "article": article, "preview_html": preview_html,
    }, status=status)


def _latest_revision(article: Article) -> int:
    return article.revisions.order_by("-number").values_list("number", flat=True).first() or 0


def _apply_service_errors(form: ArticleForm, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for name, errors in exc.error_dict.items():
            form.add_error(name if name in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)


@require_http_methods(["GET", "HEAD", "POST"])
@staff_required
def article_create(request: HttpRequest, system_slug: str) -> HttpResponse:
    try:
        system = System.objects.get(slug=system_slug)
    except System.DoesNotExist as exc:
        raise Http404("No such system.") from exc
    if request.method != "POST":
        return _form_page(request, form=ArticleForm(initial={"note": "Created"}), system=system, article=None,
                          preview_html="")
    form = ArticleForm(request.POST)
    if not form.is_valid():
        return _form_page(request, form=form, system=system, article=None, preview_html="", status=400)
    if request.POST.get("action") == "preview":
        return _form_page(request, form=form, system=system, article=None, preview_html=_preview_html(form))
    data = form.cleaned_data
    try:
        article = services.article_create(
            system=system, title=data["title"], body=data["body"], summary=data["summary"],
            heading_path=data["heading_path"], tags=data["tags"], status=data["status"], author=request.user,
            note=data["note"] or "Created",
        )
    except ValidationError as exc:
        _apply_service_errors(form, exc)
        return _form_page(request, form=form, system=system, article=None, preview_html="", status=400)
    messages.success(request, "Article created.")
    return redirect(article.get_absolute_url())


@require_http_methods(["GET", "HEAD", "POST"])
@staff_required
def article_edit(request: HttpRequest, system_slug: str, slug: str) -> HttpResponse:
    try:
        article = selectors.article_get(system_slug=system_slug, slug=slug, user=request.user)
    except Article.DoesNotExist as exc:
        raise Http404("No such article.") from exc
    latest = _latest_revision(article)
    if request.method != "POST":
        form = ArticleForm(initial={
            "title": article.title, "summary": article.summary, "heading_path": article.heading_path,
            "tags": ", ".join(t.name for t in article.tags.all()), "status": article.status,
            "body": article.body, "base_revision": latest,
        })
        return _form_page(request, form=form, system=article.system, article=article,
                          preview_html=article.body_html)
    form = ArticleForm(request.POST)
    if not form.is_valid():
        return _form_page(request, form=form, system=article.system, article=article, preview_html="",
                          status=400)
    if request.POST.get("action") == "preview":
        return _form_page(request, form=form, system=article.system, article=article,
                          preview_html=_preview_html(form))
    base = form.cleaned_data.get("base_revision")
    if base is not None and base < latest:
        # Someone saved since this editor opened the form. Keep the editor's text, point at the change,
        # and let a second save go through (both versions stay in the history either way).
        data = request.POST.copy()
        data["base_revision"] = str(latest)
        form = ArticleForm(data)
        form.is_valid()
        form.add_error(None, f"Someone else saved revision {latest} while you were editing. "
                             "Check the history, then save again to keep your version.")
        return _form_page(request, form=form, system=article.system, article=article,
                          preview_html=_preview_html(form), status=409)
    data = form.cleaned_data
    try:
        changed = services.article_update(
            article=article, author=request.user, note=data["note"], tags=data["tags"],
            title=data["title"], body=data["body"], summary=data["summary"],
            heading_path=data["heading_path"], status=data["status"],
        )
    except ValidationError as exc:
        _apply_service_errors(form, exc)
        return _form_page(request, form=form, system=article.system, article=article, preview_html="",
                          status=400)
    if changed:
        messages.success(request, "Article saved.")
    else:
        messages.info(request, "Nothing changed, so no new revision was made.")
    return redirect(article.get_absolute_url())


@require_POST
@staff_required
def article_preview(request: HttpRequest) -> HttpResponse:
    """Render posted Markdown the same way a save would (sanitised); htmx gets the preview fragment."""
    form = PreviewForm(request.POST)
    preview_html, error = "", ""
    if form.is_valid():
        try:
            preview_html = markdown_render_or_error(form.cleaned_data["body"])
        except ValidationError as exc:
            error = exc.messages[0]
    else:
        error = " ".join(form.errors.get("body", ["Invalid input."]))
    return render_page_or_fragment(request, "kb/article_preview.html", "kb/partials/preview.html",
                                   {"preview_html": preview_html, "error": error}, status=422 if error else 200)
