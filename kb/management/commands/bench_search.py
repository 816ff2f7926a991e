"""`manage.py bench_search --articles 100000 [--queries 200] [--seed 1]`: search against its baselines.

Builds a reproducible synthetic corpus of troubleshooting articles (titles, summaries, Markdown bodies
with commands, tags, symptoms with error signatures) in a scratch database, then times, in the same
run and on the same data:

- our search (``kb.search.search``: every stage, facets, the matching symptom and headlines for the page)
  over a mix of rare-term, common-term, multi-word, misspelled and pasted-error queries;
- the same with ranking switched off (``ranked_vs_unranked``) and with headlines off (``headline_overhead``);
- a naive ``icontains`` scan as a plain Django view would do it (count + first page), on a sample;
- on PostgreSQL, ``SearchVector`` computed at query time (no stored vector), on a smaller sample.

``--articles 100000,1000000`` measures each size in turn, growing the same corpus (the smaller one is a
prefix of the larger), and reports ``p95_growth`` (largest p95 / first p95).

The scratch database is ``triage_bench_<pid>`` on the same PostgreSQL server (created and dropped
here), or a temporary SQLite file; the configured database is never touched. The default connection
is pointed at the scratch database for the duration of the command, the way Django's test runner
does it, so every migration (including other apps' data migrations) runs against the scratch copy.
Rows are generated in Python and loaded with COPY (PostgreSQL) or executemany (SQLite); the search
triggers fill the index as rows arrive. Progress goes to stderr; stdout gets exactly one JSON line.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from array import array
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.core.paginator import Paginator
from django.db import connections, transaction
from django.db.models import Q

from kb import search as kb_search
from kb.models import Article

# --- the synthetic corpus ---------------------------------------------------------------------------

COMPONENTS = [
    ("redis", "Redis", 6379), ("postgresql", "PostgreSQL", 5432), ("nginx", "nginx", 443),
    ("kafka", "Kafka", 9092), ("celery", "Celery", 5555), ("gunicorn", "Gunicorn", 8000),
    ("kubelet", "kubelet", 10250), ("etcd", "etcd", 2379), ("rabbitmq", "RabbitMQ", 5672),
    ("elasticsearch", "Elasticsearch", 9200), ("mongodb", "MongoDB", 27017), ("haproxy", "HAProxy", 8404),
    ("envoy", "Envoy", 9901), ("coredns", "CoreDNS", 53), ("prometheus", "Prometheus", 9090),
    ("grafana", "Grafana", 3000), ("vault", "Vault", 8200), ("consul", "Consul", 8500),
    ("memcached", "memcached", 11211), ("mysql", "MySQL", 3306), ("pgbouncer", "PgBouncer", 6432),
    ("sidekiq", "Sidekiq", 7433), ("node", "Node.js", 3001), ("containerd", "containerd", 10010),
    ("minio", "MinIO", 9000), ("clickhouse", "ClickHouse", 8123), ("zookeeper", "ZooKeeper", 2181),
    ("traefik", "Traefik", 8080), ("jenkins", "Jenkins", 8081), ("keycloak", "Keycloak", 8443),
]
# (title phrase, tag, signature templates, explanation sentence)
PROBLEMS = [
    ("connection refused", "network", ["connect ECONNREFUSED {ip}:{port}", "[Errno 111] Connection refused"],
     "Nothing accepts connections on the expected port, so clients fail straight away."),
    ("requests time out", "latency", ["ETIMEDOUT {ip}:{port}", "504 Gateway Timeout"],
     "Calls hang until the client gives up, which usually means a saturated or unreachable dependency."),
    ("containers are OOMKilled", "memory", ["Reason: OOMKilled", "exit code 137"],
     "The kernel kills the process once it exceeds its memory limit."),
    ("disk is full", "storage", ["ENOSPC: no space left on device, write", "No space left on device"],
     "Writes fail because the volume has no free blocks or inodes left."),
    ("permission denied on startup", "permissions", ["EACCES: permission denied, open '{path}'"],
     "The service account cannot read or write a file it needs."),
    ("port already in use", "startup", ["listen EADDRINUSE: address already in use :::{port}"],
     "Another process, often an old instance, still holds the listening socket."),
    ("authentication fails", "auth", ["401 Unauthorized", 'password authentication failed for user "{user}"'],
     "Credentials were rotated on one side only, or the token expired."),
    ("TLS certificate expired", "tls", ["x509: certificate has expired or is not yet valid"],
     "A certificate in the chain passed its expiry date and the handshake is refused."),
    ("pods crash looping", "kubernetes", ["Back-off restarting failed container", "CrashLoopBackOff"],
     "The container exits shortly after start and the scheduler keeps restarting it."),
    ("deadlock detected", "database", ["ERROR: deadlock detected", "Lock wait timeout exceeded"],
     "Two transactions wait on each other's locks and one is cancelled."),
    ("replication lag grows", "replication", ["replica is {n} seconds behind primary"],
     "The replica applies changes more slowly than the primary produces them."),
    ("too many open files", "limits", ["EMFILE: too many open files", "accept4: too many open files"],
     "The process hit its file descriptor limit."),
    ("DNS lookups fail", "dns", ["getaddrinfo ENOTFOUND {host}", "getaddrinfo EAI_AGAIN {host}"],
     "Names do not resolve, so every outbound call fails before it starts."),
    ("rate limited by upstream", "quota", ["429 Too Many Requests", "rate limit exceeded for key"],
     "The upstream throttles us because we exceed the agreed request budget."),
    ("queue backlog keeps growing", "queue", ["queue depth {n} exceeds threshold"],
     "Consumers are slower than producers, so messages pile up."),
    ("memory leak after deploy", "memory", ["FATAL ERROR: Reached heap limit Allocation failed"],
     "Memory use climbs steadily until the process is restarted."),
    ("slow queries under load", "performance", ["duration: {n} ms statement: SELECT"],
     "Queries that were fast on small tables now scan far more rows."),
    ("health checks failing", "availability", ["readiness probe failed: HTTP probe failed with statuscode: 503"],
     "The load balancer takes instances out because their health endpoint errors."),
    ("config reload rejected", "configuration", ["invalid configuration: unexpected key"],
     "A recent configuration change does not validate, so the old settings stay active."),
    ("clock skew breaks tokens", "time", ["token used before issued", "clock skew detected"],
     "Hosts disagree about the time, so freshly issued tokens look invalid."),
]
CONTEXTS = [
    "after a deploy", "during peak traffic", "after a host reboot", "on startup", "under sustained load",
    "after an upgrade", "in staging only", "after certificate rotation", "when scaling out",
    "after a config change", "at night during backups", "after a failover",
]
SENTENCES = [
    "The {svc} service reports the problem within seconds of the first failed request.",
    "Check whether {comp} is reachable from {host} before changing anything else.",
    "Most reports trace back to configuration drift between environments.",
    "Restarting {svc} clears the symptom for a while, but the cause usually remains.",
    "Compare the running configuration with the last known good revision in version control.",
    "Look at the metrics dashboard for the hour before the first alert fired.",
    "If several services fail together, suspect the shared dependency first.",
    "Capture the exact error line and the time it started; both narrow the search a lot.",
    "Roll back the most recent change if the problem began right after it.",
    "Keep the incident channel updated while you work through the checks below.",
    "The logs on {host} usually show the first error a few seconds before the alerts.",
    "Confirm the fix by watching the error rate return to its normal level.",
    "Write down what you changed so the next on-call engineer can follow it.",
    "When in doubt, fail over to the standby and investigate the primary calmly.",
    "Resource limits that were fine last quarter may be too tight for today's traffic.",
    "Automated retries can hide the problem until the backlog becomes visible.",
    "Alert thresholds should fire before users notice, not after.",
    "Ask the owning team of {svc} whether they shipped anything recently.",
    "Verify that the service account still has the permissions it needs.",
    "Disk, memory and file descriptor usage are worth a quick look on every host involved.",
]
COMMANDS = [
    "systemctl status {comp}", "journalctl -u {comp} --since '-1h' | tail -n 200",
    "kubectl logs deploy/{svc} --tail=200", "kubectl describe pod -l app={svc}", "ss -ltnp | grep {port}",
    "df -h /var/lib/{comp}", "curl -fsS http://{host}:{port}/health", "free -m && uptime",
    "ulimit -n", "dig +short {host}",
]
COMMON_TERMS = ["service", "restart", "configuration", "check", "logs", "error", "host", "change"]


def _codenames(rng: random.Random, count: int) -> list[str]:
    """Pronounceable, unique made-up service names: the rare terms of the corpus."""
    onsets = ["b", "d", "f", "g", "k", "l", "m", "n", "p", "r", "s", "t", "v", "z", "br", "kr", "tr", "st", "pl",
              "gl", "dr", "fl", "sk", "sn"]
    vowels = ["a", "e", "i", "o", "u", "ai", "ou", "ei"]
    codas = ["", "n", "r", "x", "l", "s", "th", "nd", "rk"]
    names: set[str] = set()
    while len(names) < count:
        syllables = rng.randint(2, 3)
        name = "".join(rng.choice(onsets) + rng.choice(vowels) for _ in range(syllables)) + rng.choice(codas)
        if len(name) >= 6:
            names.add(name)
    return sorted(names)


class Corpus:
    """A deterministic stream of articles; the first N are the same whatever size is asked for."""

    systems = 20
    codename_count = 20000

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self.rng = random.Random(seed)
        self.codenames = _codenames(random.Random(seed * 7919 + 1), self.codename_count)
        self.tags = sorted({c[0] for c in COMPONENTS} | {p[1] for p in PROBLEMS} | {"production", "staging"})
        self.article_codename = array("i")
        self.article_component = array("b")
        self.article_problem = array("b")
        self.article_context = array("b")
        self.now = datetime(2026, 11, 1, tzinfo=UTC)

    def vocabulary(self) -> set[str]:
        """Every word the generator can write (what index_articles would have collected)."""
        fixed = "prod stg eu us internal var lib db What you see Why it happens How to confirm Fix bash"
        text = " ".join([*(c[0] + " " + c[1] for c in COMPONENTS), *(" ".join([p[0], *p[2], p[3]]) for p in PROBLEMS),
                         *CONTEXTS, *SENTENCES, *COMMANDS, *self.codenames, *self.tags, fixed])
        return kb_search.index_words(text.replace("{", " ").replace("}", " "))

    def article(self, index: int) -> dict[str, Any]:
        """Article number ``index``; must be called in order (the random stream is sequential)."""
        rng = self.rng
        comp_i, prob_i, ctx_i = rng.randrange(len(COMPONENTS)), rng.randrange(len(PROBLEMS)), rng.randrange(len(CONTEXTS))
        code_i = rng.randrange(len(self.codenames))
        self.article_codename.append(code_i)
        self.article_component.append(comp_i)
        self.article_problem.append(prob_i)
        self.article_context.append(ctx_i)
        slug, comp, port = COMPONENTS[comp_i]
        problem, tag, signature_templates, why = PROBLEMS[prob_i]
        svc = self.codenames[code_i]
        host = f"{svc}-{rng.randint(1, 9)}.{rng.choice(['prod', 'stg', 'eu', 'us'])}.internal"
        values = {
            "svc": svc, "comp": slug, "port": port, "host": host, "ip": f"10.{rng.randint(0, 9)}.{rng.randint(0, 9)}.{rng.randint(2, 250)}",
            "path": f"/var/lib/{slug}/{svc}.db", "user": svc, "n": rng.randint(30, 9000),
        }
        title = f"{comp} {problem} {CONTEXTS[ctx_i]} ({svc})"
        summary = f"{comp} on {svc}: {why}"
        sentences = rng.sample(SENTENCES, 7)
        commands = rng.sample(COMMANDS, 3)
        body = (
            f"## What you see\n\n{why} {sentences[0]} {sentences[1]}\n\n"
            f"## Why it happens\n\n{sentences[2]} {sentences[3]} {sentences[4]}\n\n"
            f"## How to confirm\n\n```bash\n" + "\n".join(commands) + "\n```\n\n"
            f"## Fix\n\n{sentences[5]} {sentences[6]}\n"
        ).format(**values)
        signatures = []
        if rng.random() < 0.65:
            signatures = [t.format(**values) for t in rng.sample(signature_templates, rng.randint(1, len(signature_templates)))]
        created = self.now - timedelta(minutes=rng.randint(0, 2 * 365 * 24 * 60))
        helpful = rng.randint(0, 30) if rng.random() < 0.1 else 0
        return {
            "id": index + 1, "system_id": index % self.systems + 1, "title": title[:255], "slug": f"a-{index + 1}",
            "summary": summary, "body": body, "status": "draft" if rng.random() < 0.02 else "published",
            "created_at": created, "updated_at": created + timedelta(minutes=rng.randint(0, 60 * 24 * 90)),
            "helpful": helpful, "not_helpful": rng.randint(0, 5) if helpful else 0,
            "tags": sorted({slug, tag, rng.choice(["production", "staging"])}),
            "symptom": f"{comp} {problem}" if signatures else "", "signatures": signatures,
        }

    def queries(self, size: int, count: int, seed: int) -> list[tuple[str, str]]:
        """(kind, text) pairs, an equal share of each kind, from articles among the first ``size``."""
        rng = random.Random(seed * 104729 + size)
        kinds = ["rare", "common", "multi", "typo", "error"]
        out: list[tuple[str, str]] = []
        for i in range(count):
            kind = kinds[i % len(kinds)]
            a = rng.randrange(size)
            comp = COMPONENTS[self.article_component[a]]
            problem = PROBLEMS[self.article_problem[a]]
            svc = self.codenames[self.article_codename[a]]
            if kind == "rare":
                text = svc
            elif kind == "common":
                text = rng.choice(COMMON_TERMS)
            elif kind == "multi":
                words = [comp[0]] + [w for w in problem[0].split() if len(w) > 2][:2]
                if rng.random() < 0.5:
                    words.append(CONTEXTS[self.article_context[a]].split()[-1])
                text = " ".join(words)
            elif kind == "typo":
                words = [comp[0]] + [w for w in problem[0].split() if len(w) > 2][:1]
                target = max(range(len(words)), key=lambda j: len(words[j]))
                words[target] = _misspell(rng, words[target])
                text = " ".join(words)
            else:
                template = rng.choice(problem[2])
                text = template.format(svc=svc, comp=comp[0], port=comp[2], host=f"{svc}-1.prod.internal",
                                       ip=f"10.0.0.{rng.randint(2, 250)}", path=f"/var/lib/{comp[0]}/{svc}.db",
                                       user=svc, n=rng.randint(30, 9000))
                if rng.random() < 0.3 and '"' not in text:
                    text = f'"{text}"'
            out.append((kind, text))
        return out


def _misspell(rng: random.Random, word: str) -> str:
    i = rng.randrange(1, len(word) - 1)
    edit = rng.choice(["swap", "drop", "double", "replace"])
    if edit == "swap":
        return word[:i] + word[i + 1] + word[i] + word[i + 2 :]
    if edit == "drop":
        return word[:i] + word[i + 1 :]
    if edit == "double":
        return word[:i] + word[i] + word[i:]
    return word[:i] + rng.choice("aeioulnrst".replace(word[i], "")) + word[i + 1 :]


# --- loading ------------------------------------------------------------------------------------------

ARTICLE_COLUMNS = (
    "id", "system_id", "title", "slug", "body", "body_html", "toc_html", "summary", "heading_path", "status",
    "source_file", "source_anchor", "source_hash", "view_count", "helpful_count", "not_helpful_count",
    "created_at", "updated_at",
)
SEARCH_INDEXES = {
    "kb_article_search_vector_gin": "CREATE INDEX kb_article_search_vector_gin ON kb_article USING gin (search_vector)",
    "kb_article_search_head_gin": "CREATE INDEX kb_article_search_head_gin ON kb_article USING gin (search_head)",
    "kb_article_title_trgm": "CREATE INDEX kb_article_title_trgm ON kb_article USING gin (title gin_trgm_ops)",
    "kb_article_signatures_trgm":
        "CREATE INDEX kb_article_signatures_trgm ON kb_article USING gin (search_signatures gin_trgm_ops)",
}


class Loader:
    def __init__(self, corpus: Corpus, vendor: str, log: Callable[[str], None]) -> None:
        self.corpus = corpus
        self.vendor = vendor
        self.log = log
        self.connection = connections["default"]
        self.tag_ids: dict[str, int] = {}
        self.next_symptom = 1
        self.next_signature = 1
        self.next_link = 1

    def prepare(self) -> None:
        now = self.corpus.now
        with self.connection.cursor() as cursor:
            for i in range(1, self.corpus.systems + 1):
                cursor.execute(
                    "INSERT INTO kb_system (id, name, slug, description, aliases, links, created_at, updated_at)"
                    " VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
                    [i, f"System {i:02d}", f"system-{i:02d}", "A synthetic service.", "", "[]", now, now],
                )
            for i, tag in enumerate(self.corpus.tags, 1):
                cursor.execute("INSERT INTO kb_tag (id, name, slug) VALUES (%s, %s, %s)", [i, tag, tag])
                self.tag_ids[tag] = i
        kb_search.engine_for().add_words(sorted(self.corpus.vocabulary()))

    def load(self, start: int, stop: int) -> None:
        """Append articles [start, stop), their tags, symptoms and signatures, in batches."""
        batch = 20000
        if self.vendor == "postgresql":
            with self.connection.cursor() as cursor:
                for name in SEARCH_INDEXES:
                    cursor.execute(f"DROP INDEX IF EXISTS {name}")
        for first in range(start, stop, batch):
            last = min(stop, first + batch)
            rows = [self.corpus.article(i) for i in range(first, last)]
            if self.vendor == "postgresql":
                self._copy_postgres(rows)
            else:
                self._insert_sqlite(rows)
            if (last // batch) % 5 == 0 or last == stop:
                self.log(f"  loaded {last:,} articles")
        with self.connection.cursor() as cursor:
            if self.vendor == "postgresql":
                cursor.execute("SET maintenance_work_mem = '512MB'")
                for name, sql in SEARCH_INDEXES.items():
                    started = time.perf_counter()
                    cursor.execute(sql)
                    self.log(f"  built {name} in {time.perf_counter() - started:.0f}s")
                cursor.execute("VACUUM ANALYZE kb_article")
                for table in ("kb_symptom", "kb_signature", "kb_symptom_articles", "kb_article_tags", "kb_tag",
                              "kb_system", "kb_search_word"):
                    cursor.execute(f"ANALYZE {table}")
            else:
                cursor.execute("ANALYZE")

    def _related_rows(self, rows: list[dict]) -> tuple[list, list, list, list]:
        symptoms, signatures, links, tags = [], [], [], []
        now = self.corpus.now
        for row in rows:
            for tag in row["tags"]:
                tags.append((row["id"], self.tag_ids[tag]))
            if row["signatures"]:
                sid = self.next_symptom
                self.next_symptom += 1
                symptoms.append((sid, row["system_id"], row["symptom"], "", "high", now, now))
                links.append((sid, row["id"]))
                for text in row["signatures"]:
                    signatures.append((self.next_signature, sid, "literal", text, "[]", "[]", now))
                    self.next_signature += 1
        return symptoms, signatures, links, tags

    def _copy_postgres(self, rows: list[dict]) -> None:
        symptoms, signatures, links, tags = self._related_rows(rows)
        # Related rows first: the article trigger reads signatures and tags when it builds the vector.
        # Foreign keys are deferred to commit, so the link rows may name articles not copied yet.
        with transaction.atomic(), self.connection.cursor() as wrapper:
            cursor = wrapper.cursor
            copies = [
                ("COPY kb_symptom (id, system_id, title, description, severity, created_at, updated_at) FROM STDIN",
                 symptoms),
                ("COPY kb_signature (id, symptom_id, kind, text, positive_examples, negative_examples, created_at) "
                 "FROM STDIN", signatures),
                ("COPY kb_symptom_articles (symptom_id, article_id) FROM STDIN", links),
                ("COPY kb_article_tags (article_id, tag_id) FROM STDIN", tags),
                (f"COPY kb_article ({', '.join(ARTICLE_COLUMNS)}) FROM STDIN", [self._article_tuple(r) for r in rows]),
            ]
            for sql, data in copies:
                if sql.startswith("COPY kb_article "):
                    # Fresh statistics, so the trigger's per-row lookups of signatures and tags use
                    # their indexes instead of scanning tables that were empty when it was planned.
                    cursor.execute("ANALYZE kb_symptom, kb_signature, kb_symptom_articles, kb_article_tags")
                with cursor.copy(sql) as copy:
                    for record in data:
                        copy.write_row(record)

    @staticmethod
    def _article_tuple(row: dict) -> tuple:
        return (row["id"], row["system_id"], row["title"], row["slug"], row["body"], "", "", row["summary"], "",
                row["status"], "", "", "", 0, row["helpful"], row["not_helpful"], row["created_at"], row["updated_at"])

    def _insert_sqlite(self, rows: list[dict]) -> None:
        symptoms, signatures, links, tags = self._related_rows(rows)
        raw = self.connection.connection
        raw.execute("BEGIN")
        raw.executemany("INSERT INTO kb_symptom (id, system_id, title, description, severity, created_at, updated_at) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?)", [(*s[:5], _sqlite_time(s[5]), _sqlite_time(s[6])) for s in symptoms])
        raw.executemany("INSERT INTO kb_signature (id, symptom_id, kind, text, positive_examples, negative_examples, "
                        "created_at) VALUES (?, ?, ?, ?, ?, ?, ?)", [(*s[:6], _sqlite_time(s[6])) for s in signatures])
        raw.executemany("INSERT INTO kb_symptom_articles (symptom_id, article_id) VALUES (?, ?)", links)
        raw.executemany("INSERT INTO kb_article_tags (article_id, tag_id) VALUES (?, ?)", tags)
        raw.executemany(
            f"INSERT INTO kb_article ({', '.join(ARTICLE_COLUMNS)}) VALUES ({', '.join('?' * len(ARTICLE_COLUMNS))})",
            [(*t[:16], _sqlite_time(t[16]), _sqlite_time(t[17])) for t in map(self._article_tuple, rows)],
        )
        raw.execute("COMMIT")


def _sqlite_time(value: datetime) -> str:
    """Django's SQLite storage format: naive UTC, space-separated."""
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ")


# --- measuring -------------------------------------------------------------------------------------


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    index = max(0, min(len(ordered) - 1, round(q * (len(ordered) - 1))))
    return ordered[index]


def _timed(fn: Callable[[], Any]) -> float:
    started = time.perf_counter()
    fn()
    return (time.perf_counter() - started) * 1000


def _stats(values: list[float]) -> dict[str, float]:
    return {"p50_ms": round(_percentile(values, 0.5), 2), "p95_ms": round(_percentile(values, 0.95), 2)}


def naive_search(text: str) -> list[Article]:
    """What a plain Django view would do: every word icontains title/summary/body, count, first page."""
    words = [w for w in kb_search.parse_query(text).all_words] or [text]
    condition = Q(status=Article.Status.PUBLISHED)
    for word in words:
        condition &= Q(title__icontains=word) | Q(summary__icontains=word) | Q(body__icontains=word)
    queryset = Article.objects.filter(condition).select_related("system").order_by("-updated_at")
    page = Paginator(queryset, kb_search.PAGE_SIZE).get_page(1)
    return list(page.object_list)


def vector_search(text: str) -> list[Article]:
    """PostgreSQL full-text search without the stored vector: to_tsvector for every row, every query."""
    from django.contrib.postgres.search import SearchQuery, SearchRank, SearchVector

    vector = SearchVector("title", weight="A", config="english") + SearchVector("summary", weight="C", config="english") \
        + SearchVector("body", weight="D", config="english")
    query = SearchQuery(text, search_type="websearch", config="english")
    queryset = (
        Article.objects.filter(status=Article.Status.PUBLISHED).annotate(document=vector)
        .filter(document=query).annotate(rank=SearchRank(vector, query)).order_by("-rank")
    )
    return list(queryset[: kb_search.PAGE_SIZE])


class Command(BaseCommand):
    help = "Benchmark kb search against naive and query-time baselines on a synthetic corpus (one JSON line)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--articles", default="100000",
                            help="Corpus size, or ascending sizes separated by commas (e.g. 100000,1000000).")
        parser.add_argument("--queries", type=int, default=200, help="Queries per measurement (default 200).")
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--baseline-queries", type=int, default=None,
                            help="Queries for the naive scan (default: 40 at 100k, fewer for larger corpora).")
        parser.add_argument("--vector-queries", type=int, default=None,
                            help="Queries for query-time SearchVector on PostgreSQL (default 6; 0 skips).")

    def log(self, message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            sizes = sorted({int(s) for s in str(options["articles"]).split(",") if s.strip()})
        except ValueError as exc:
            raise CommandError("--articles takes whole numbers, e.g. 100000 or 100000,1000000") from exc
        if not sizes or sizes[0] < 100:
            raise CommandError("--articles must be at least 100")
        if options["queries"] < 10:
            raise CommandError("--queries must be at least 10")
        vendor = connections["default"].vendor
        if vendor not in ("postgresql", "sqlite"):
            raise CommandError(f"bench_search supports PostgreSQL and SQLite, not {vendor}")
        started = time.perf_counter()
        runs = []
        with self.scratch_database(vendor) as scratch:
            self.log(f"scratch database: {scratch}")
            call_command("migrate", verbosity=0, interactive=False)
            corpus = Corpus(options["seed"])
            loader = Loader(corpus, vendor, self.log)
            loader.prepare()
            loaded = 0
            for size in sizes:
                load_started = time.perf_counter()
                self.log(f"loading articles {loaded:,}..{size:,}")
                loader.load(loaded, size)
                load_seconds = time.perf_counter() - load_started
                loaded = size
                run = self.measure(corpus, size, vendor, options)
                run["load_seconds"] = round(load_seconds, 1)
                runs.append(run)
                self.log(json.dumps(run))
        line: dict[str, Any] = {"backend": vendor, "seed": options["seed"], "queries": options["queries"], **runs[0]}
        if len(runs) > 1:
            line["runs"] = runs
            line["p95_growth"] = round(runs[-1]["search_p95_ms"] / max(runs[0]["search_p95_ms"], 1e-6), 2)
            line["p95_growth_sizes"] = [runs[0]["articles"], runs[-1]["articles"]]
        line["targets"] = self.targets(vendor, runs, line)
        line["total_seconds"] = round(time.perf_counter() - started, 1)
        self.stdout.write(json.dumps(line))

    @contextmanager
    def scratch_database(self, vendor: str) -> Iterator[str]:
        """Point the default connection at a new, empty database; drop it afterwards whatever happens."""
        connection = connections["default"]
        original = dict(connection.settings_dict)
        connection.close()
        if vendor == "postgresql":
            import psycopg

            name = f"triage_bench_{os.getpid()}"
            params = {"host": original.get("HOST") or None, "port": original.get("PORT") or None,
                      "user": original.get("USER") or None, "password": original.get("PASSWORD") or None}
            admin = psycopg.connect(dbname="postgres", autocommit=True, **{k: v for k, v in params.items() if v})
            admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
            admin.execute(f'CREATE DATABASE "{name}"')
            connection.settings_dict["NAME"] = name
            try:
                yield name
            finally:
                connection.close()
                connection.settings_dict.clear()
                connection.settings_dict.update(original)
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                admin.close()
        else:
            directory = tempfile.mkdtemp(prefix="triage_bench_")
            path = os.path.join(directory, "bench.sqlite3")
            connection.settings_dict["NAME"] = path
            try:
                yield path
            finally:
                connection.close()
                connection.settings_dict.clear()
                connection.settings_dict.update(original)
                shutil.rmtree(directory, ignore_errors=True)

    def measure(self, corpus: Corpus, size: int, vendor: str, options: dict) -> dict[str, Any]:
        queries = corpus.queries(size, options["queries"], options["seed"])
        self.log(f"measuring {len(queries)} queries at {size:,} articles")
        for _, text in queries:  # warm caches and plans once, untimed
            kb_search.search(text)
        # Interleave the variants query by query so background load affects them alike.
        ours, unranked, no_headline, by_kind = [], [], [], {}
        for kind, text in queries:
            ours.append(_timed(lambda t=text: kb_search.search(t)))
            unranked.append(_timed(lambda t=text: kb_search.search(t, rank=False)))
            no_headline.append(_timed(lambda t=text: kb_search.search(t, highlight=False)))
            by_kind.setdefault(kind, []).append(ours[-1])

        baseline_n = options["baseline_queries"] or max(8, min(40, 40 * 100_000 // size))
        sample = random.Random(options["seed"]).sample(queries, min(baseline_n, len(queries)))
        self.log(f"naive icontains scan on {len(sample)} queries")
        naive = [_timed(lambda t=text: naive_search(t)) for _, text in sample]
        ours_by_text = {text: ms for (_, text), ms in zip(queries, ours, strict=True)}
        ours_on_sample = [ours_by_text[text] for _, text in sample]

        result: dict[str, Any] = {
            "articles": size,
            "search_p50_ms": round(_percentile(ours, 0.5), 2),
            "search_p95_ms": round(_percentile(ours, 0.95), 2),
            "naive_p50_ms": round(_percentile(naive, 0.5), 2),
            "naive_p95_ms": round(_percentile(naive, 0.95), 2),
            "naive_queries": len(sample),
            "speedup_vs_naive": round(_percentile(naive, 0.95) / max(_percentile(ours, 0.95), 1e-6), 1),
            "speedup_vs_naive_same_queries": round(
                _percentile(naive, 0.95) / max(_percentile(ours_on_sample, 0.95), 1e-6), 1),
            "unranked_p95_ms": round(_percentile(unranked, 0.95), 2),
            "ranked_vs_unranked": round(_percentile(ours, 0.95) / max(_percentile(unranked, 0.95), 1e-6), 2),
            "rare_p95_ms": round(_percentile(by_kind["rare"], 0.95), 2),
            "common_p95_ms": round(_percentile(by_kind["common"], 0.95), 2),
            "common_vs_rare": round(_percentile(by_kind["common"], 0.95) / max(_percentile(by_kind["rare"], 0.95), 1e-6), 2),
            "no_headline_p95_ms": round(_percentile(no_headline, 0.95), 2),
            "headline_overhead": round(_percentile(ours, 0.95) / max(_percentile(no_headline, 0.95), 1e-6), 2),
            "by_kind": {kind: _stats(values) for kind, values in by_kind.items()},
        }
        vector_n = options["vector_queries"]
        if vector_n is None:
            vector_n = 6 if size <= 200_000 else 0
        if vendor == "postgresql" and vector_n > 0:
            vector_sample = sample[:vector_n]
            self.log(f"query-time SearchVector on {len(vector_sample)} queries")
            vector = [_timed(lambda t=text: vector_search(t)) for _, text in vector_sample]
            result.update({
                "query_time_vector_p50_ms": round(_percentile(vector, 0.5), 2),
                "query_time_vector_p95_ms": round(_percentile(vector, 0.95), 2),
                "query_time_vector_queries": len(vector_sample),
                "speedup_vs_query_time_vector": round(
                    _percentile(vector, 0.95) / max(_percentile(ours, 0.95), 1e-6), 1),
            })
        result["mean_results_per_query"] = round(statistics.mean(kb_search.search(t).count for _, t in queries[:50]), 1)
        return result

    @staticmethod
    def targets(vendor: str, runs: list[dict], line: dict) -> dict[str, bool]:
        at_100k = next((r for r in runs if r["articles"] == 100_000), None)
        if vendor == "sqlite":
            return {"sqlite_p95_at_most_1/20_of_naive_at_100k": bool(at_100k and at_100k["speedup_vs_naive"] >= 20)}
        targets: dict[str, bool] = {}
        if at_100k:
            targets["speedup_vs_naive>=50_at_100k"] = at_100k["speedup_vs_naive"] >= 50
        for run in runs:
            suffix = f"_at_{run['articles']}"
            targets["ranked_vs_unranked<=2" + suffix] = run["ranked_vs_unranked"] <= 2
            targets["common_vs_rare<=3" + suffix] = run["common_vs_rare"] <= 3
            targets["headline_overhead<=1.5" + suffix] = run["headline_overhead"] <= 1.5
        if at_100k and any(r["articles"] == 1_000_000 for r in runs):
            at_1m = next(r for r in runs if r["articles"] == 1_000_000)
            targets["p95_1m<=3x_p95_100k"] = at_1m["search_p95_ms"] <= 3 * at_100k["search_p95_ms"]
        return targets
