from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from .. import selectors
from ..models import Article, System


def home(request: HttpRequest) -> HttpResponse:
    return render(request, "kb/home.html", {
        "systems": selectors.system_list(user=request.user),
        "recent_articles": selectors.article_list(user=request.user).order_by("-updated_at")[:8],
    })


def system_detail(request: HttpRequest, slug: str) -> HttpResponse:
    system = get_object_or_404(System, slug=slug)
    articles = selectors.article_list(user=request.user).filter(system=system)
    return render(request, "kb/system_detail.html", {"system": system, "articles": articles})


def article_detail(request: HttpRequest, system_slug: str, slug: str) -> HttpResponse:
    try:
        article = selectors.article_get(system_slug=system_slug, slug=slug, user=request.user)
    except Article.DoesNotExist:
        article = get_object_or_404(Article, pk=None)
    return render(request, "kb/article_detail.html", {"article": article})
