"""Django admin for the knowledge base. Writes go through the same services as the app, so an admin
edit still makes a revision, re-renders Markdown, updates the search index and validates signatures."""

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.http import HttpRequest

from . import services
from .matching.signatures import signature_check
from .models import Article, ArticleRevision, SearchSynonym, Signature, Solution, Symptom, System, Tag
from .search.synonyms import synonyms_changed


@admin.register(System)
class SystemAdmin(admin.ModelAdmin):
    list_display = ("name", "slug")
    search_fields = ("name", "slug")
    prepopulated_fields = {"slug": ("name",)}
    filter_horizontal = ("depends_on",)


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    list_display = ("name", "slug")
    search_fields = ("name",)


class ArticleRevisionInline(admin.TabularInline):
    model = ArticleRevision
    fields = ("number", "title", "note", "author", "created_at")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.register(Article)
class ArticleAdmin(admin.ModelAdmin):
    list_display = ("title", "system", "status", "heading_path", "helpful_count", "view_count", "updated_at")
    list_filter = ("system", "status", "tags")
    search_fields = ("title", "summary", "heading_path")
    fields = ("system", "title", "slug", "summary", "heading_path", "status", "body", "source_file", "source_anchor")
    readonly_fields = ("slug", "source_file", "source_anchor")
    inlines = [ArticleRevisionInline]

    def save_model(self, request: HttpRequest, obj: Article, form: forms.ModelForm, change: bool) -> None:
        data = {k: form.cleaned_data[k] for k in ("title", "summary", "heading_path", "status", "body")}
        if change:
            article = Article.objects.get(pk=obj.pk)
            services.article_update(article=article, author=request.user, note="Edited in admin", **data)
            obj.pk, obj.slug = article.pk, article.slug
        else:
            created = services.article_create(system=form.cleaned_data["system"], author=request.user,
                                              note="Created in admin", **data)
            obj.pk, obj.slug = created.pk, created.slug
        obj.refresh_from_db()


class SignatureInlineForm(forms.ModelForm):
    class Meta:
        model = Signature
        fields = ("kind", "text", "positive_examples", "negative_examples")

    def clean(self) -> dict:
        cleaned = super().clean()
        if cleaned.get("text") and not self.errors:
            errors = signature_check(kind=cleaned["kind"], text=cleaned["text"],
                                     positive_examples=cleaned.get("positive_examples") or [],
                                     negative_examples=cleaned.get("negative_examples") or [])
            if errors:
                raise ValidationError(errors)
        return cleaned


class SignatureInline(admin.TabularInline):
    model = Signature
    form = SignatureInlineForm
    extra = 1


@admin.register(Symptom)
class SymptomAdmin(admin.ModelAdmin):
    list_display = ("title", "system", "severity", "updated_at")
    list_filter = ("system", "severity")
    search_fields = ("title", "signatures__text")
    filter_horizontal = ("articles", "checks")
    # Saving here saves the symptom too, and its updated_at is part of the matcher's fingerprint,
    # so every process rebuilds its matcher after a signature edit.
    inlines = [SignatureInline]


@admin.register(Solution)
class SolutionAdmin(admin.ModelAdmin):
    list_display = ("title", "system", "risk", "resolved_count")
    list_filter = ("system", "risk")
    search_fields = ("title", "steps")
    filter_horizontal = ("articles",)

    def save_model(self, request: HttpRequest, obj: Solution, form: forms.ModelForm, change: bool) -> None:
        services.solution_render(solution=obj)
        super().save_model(request, obj, form, change)


@admin.register(SearchSynonym)
class SearchSynonymAdmin(admin.ModelAdmin):
    """The operations vocabulary search and retrieval expand queries with; every edit reloads it."""

    list_display = ("terms", "note", "updated_at")
    search_fields = ("terms", "note")

    def save_model(self, request: HttpRequest, obj: SearchSynonym, form: forms.ModelForm, change: bool) -> None:
        super().save_model(request, obj, form, change)
        synonyms_changed()

    def delete_model(self, request: HttpRequest, obj: SearchSynonym) -> None:
        super().delete_model(request, obj)
        synonyms_changed()

    def delete_queryset(self, request: HttpRequest, queryset) -> None:  # noqa: ANN001
        super().delete_queryset(request, queryset)
        synonyms_changed()
