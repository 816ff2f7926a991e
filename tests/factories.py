import factory
from django.contrib.auth.models import User

from kb.markdown import render_markdown
from kb.models import Article, Signature, Solution, Symptom, System


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.PostGenerationMethodCall("set_password", "correct horse battery")

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class SystemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = System
        django_get_or_create = ("slug",)

    name = factory.Sequence(lambda n: f"System {n}")
    slug = factory.Sequence(lambda n: f"system-{n}")
    description = "A service under test."


class ArticleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Article

    system = factory.SubFactory(SystemFactory)
    title = factory.Sequence(lambda n: f"Article {n}")
    slug = factory.Sequence(lambda n: f"article-{n}")
    summary = "What to do when it breaks."
    body = "## Symptoms\n\nIt breaks.\n\n## Fix\n\n```bash\nsystemctl restart thing\n```\n"
    body_html = factory.LazyAttribute(lambda a: render_markdown(a.body).html)
    toc_html = factory.LazyAttribute(lambda a: render_markdown(a.body).toc_html)
    status = Article.Status.PUBLISHED


class SymptomFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Symptom

    system = factory.SubFactory(SystemFactory)
    title = factory.Sequence(lambda n: f"Symptom {n}")


class SignatureFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Signature

    symptom = factory.SubFactory(SymptomFactory)
    kind = Signature.Kind.LITERAL
    text = factory.Sequence(lambda n: f"Error {n}: connection refused")


class SolutionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Solution

    system = factory.SubFactory(SystemFactory)
    title = factory.Sequence(lambda n: f"Solution {n}")
    steps = "1. Restart it.\n"
    steps_html = "<ol><li>Restart it.</li></ol>"
