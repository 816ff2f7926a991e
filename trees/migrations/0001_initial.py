"""Decision trees as their own app, on the tables they had in kb (kb_decisiontree, kb_treenode, ...).

The models are created in Django's state only (kb/0005 removed them from kb's state): the tables,
their rows, constraints and indexes stay exactly as kb/0004 made them. Content types (and so the
permissions granted on them) are relabelled from kb to trees.
"""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


MODELS = ("decisiontree", "treenode", "treerevision", "walkthrough", "walkthroughstep")


def _relabel(apps, old: str, new: str) -> None:
    content_type = apps.get_model("contenttypes", "ContentType")
    for model in MODELS:
        if not content_type.objects.filter(app_label=new, model=model).exists():
            content_type.objects.filter(app_label=old, model=model).update(app_label=new)


def content_types_to_trees(apps, schema_editor) -> None:
    _relabel(apps, "kb", "trees")


def content_types_to_kb(apps, schema_editor) -> None:
    _relabel(apps, "trees", "kb")


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('diagnostics', '0002_checks'),
        ('kb', '0005_trees_move_to_own_app'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
        ('contenttypes', '0002_remove_content_type_name'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='DecisionTree',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('slug', models.SlugField(max_length=120)),
                        ('title', models.CharField(max_length=255)),
                        ('description', models.TextField(blank=True, help_text='Markdown.')),
                        ('description_html', models.TextField(blank=True, editable=False)),
                        ('status', models.CharField(choices=[('draft', 'Draft'), ('published', 'Published')], default='published', max_length=10)),
                        ('revision', models.PositiveIntegerField(default=0, editable=False)),
                        ('source_file', models.CharField(blank=True, max_length=255)),
                        ('source_hash', models.CharField(blank=True, editable=False, max_length=64)),
                        ('created_at', models.DateTimeField(auto_now_add=True)),
                        ('updated_at', models.DateTimeField(auto_now=True)),
                        ('symptoms', models.ManyToManyField(blank=True, help_text='The symptoms this tree troubleshoots; the matcher offers it for them.', related_name='decision_trees', to='kb.symptom')),
                        ('system', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='decision_trees', to='kb.system')),
                    ],
                    options={
                        'db_table': 'kb_decisiontree',
                        'ordering': ['system__name', 'title'],
                    },
                ),
                migrations.CreateModel(
                    name='TreeNode',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('key', models.CharField(help_text='Unique within the tree; answers point at it.', max_length=80)),
                        ('kind', models.CharField(choices=[('question', 'Question'), ('check', 'Check'), ('instruction', 'Instruction'), ('solution', 'Solution'), ('link', 'Link to another tree'), ('escalate', 'Escalate')], max_length=12)),
                        ('title', models.CharField(blank=True, help_text='Short label for breadcrumbs and the diagram.', max_length=200)),
                        ('prompt', models.TextField(blank=True, help_text='Markdown.')),
                        ('prompt_html', models.TextField(blank=True, editable=False)),
                        ('answers', models.JSONField(blank=True, default=list)),
                        ('check_target', models.CharField(blank=True, max_length=500)),
                        ('branches', models.JSONField(blank=True, default=dict)),
                        ('next_key', models.CharField(blank=True, max_length=80)),
                        ('severity', models.CharField(blank=True, max_length=40)),
                        ('position', models.PositiveIntegerField(default=0, help_text='Order in the YAML document.')),
                        ('article', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='tree_nodes', to='kb.article')),
                        ('check_def', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='diagnostics.check')),
                        ('linked_tree', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='linked_from', to='trees.decisiontree')),
                        ('solution', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='tree_nodes', to='kb.solution')),
                        ('tree', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='nodes', to='trees.decisiontree')),
                    ],
                    options={
                        'db_table': 'kb_treenode',
                        'ordering': ['tree', 'position', 'id'],
                    },
                ),
                migrations.AddField(
                    model_name='decisiontree',
                    name='entry_node',
                    field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='trees.treenode'),
                ),
                migrations.CreateModel(
                    name='TreeRevision',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('number', models.PositiveIntegerField()),
                        ('yaml', models.TextField()),
                        ('note', models.CharField(blank=True, max_length=255)),
                        ('created_at', models.DateTimeField(auto_now_add=True)),
                        ('author', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                        ('tree', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='revisions', to='trees.decisiontree')),
                    ],
                    options={
                        'db_table': 'kb_treerevision',
                        'ordering': ['tree', '-number'],
                    },
                ),
                migrations.CreateModel(
                    name='Walkthrough',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('session_key', models.CharField(blank=True, max_length=40)),
                        ('tree_revision', models.PositiveIntegerField(default=0)),
                        ('context', models.JSONField(blank=True, default=dict)),
                        ('outcome', models.CharField(choices=[('in_progress', 'In progress'), ('resolved', 'Resolved'), ('escalated', 'Escalated'), ('linked', 'Continued in another tree'), ('abandoned', 'Abandoned')], default='in_progress', max_length=12)),
                        ('exit_node_key', models.CharField(blank=True, max_length=80)),
                        ('started_at', models.DateTimeField(default=django.utils.timezone.now)),
                        ('updated_at', models.DateTimeField(auto_now=True)),
                        ('finished_at', models.DateTimeField(blank=True, null=True)),
                        ('parent', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='children', to='trees.walkthrough')),
                        ('tree', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='walkthroughs', to='trees.decisiontree')),
                        ('user', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                    ],
                    options={
                        'db_table': 'kb_walkthrough',
                        'ordering': ['-started_at', '-id'],
                    },
                ),
                migrations.CreateModel(
                    name='WalkthroughStep',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('order', models.PositiveIntegerField(help_text='1 for the entry node; the step number in its URL.')),
                        ('node_key', models.CharField(max_length=80)),
                        ('node_label', models.CharField(blank=True, max_length=200)),
                        ('node_kind', models.CharField(blank=True, choices=[('question', 'Question'), ('check', 'Check'), ('instruction', 'Instruction'), ('solution', 'Solution'), ('link', 'Link to another tree'), ('escalate', 'Escalate')], max_length=12)),
                        ('choice', models.CharField(blank=True, help_text='Machine form of the answer: 1, ok, fixed...', max_length=40)),
                        ('answer', models.CharField(blank=True, help_text='The answer as the walker saw it.', max_length=255)),
                        ('check_state', models.CharField(blank=True, max_length=10)),
                        ('check_message', models.CharField(blank=True, max_length=500)),
                        ('answered_by_check', models.BooleanField(default=False)),
                        ('auto_answer', models.BooleanField(default=True)),
                        ('entered_at', models.DateTimeField(default=django.utils.timezone.now)),
                        ('left_at', models.DateTimeField(blank=True, null=True)),
                        ('check_run', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='diagnostics.checkrun')),
                        ('walkthrough', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='steps', to='trees.walkthrough')),
                    ],
                    options={
                        'db_table': 'kb_walkthroughstep',
                        'ordering': ['walkthrough', 'order'],
                    },
                ),
                migrations.AddConstraint(
                    model_name='treenode',
                    constraint=models.UniqueConstraint(fields=('tree', 'key'), name='kb_treenode_unique_key_per_tree'),
                ),
                migrations.AddConstraint(
                    model_name='decisiontree',
                    constraint=models.UniqueConstraint(fields=('system', 'slug'), name='kb_tree_unique_slug_per_system'),
                ),
                migrations.AddConstraint(
                    model_name='treerevision',
                    constraint=models.UniqueConstraint(fields=('tree', 'number'), name='kb_treerevision_unique_number'),
                ),
                migrations.AddIndex(
                    model_name='walkthrough',
                    index=models.Index(fields=['tree', 'outcome'], name='kb_walkthro_tree_id_78c02a_idx'),
                ),
                migrations.AddIndex(
                    model_name='walkthrough',
                    index=models.Index(fields=['user', 'tree', 'outcome'], name='kb_walkthro_user_id_c74047_idx'),
                ),
                migrations.AddIndex(
                    model_name='walkthrough',
                    index=models.Index(fields=['session_key', 'tree', 'outcome'], name='kb_walkthro_session_4d16ed_idx'),
                ),
                migrations.AddIndex(
                    model_name='walkthroughstep',
                    index=models.Index(fields=['node_key'], name='kb_walkthro_node_ke_f20c5d_idx'),
                ),
                migrations.AddConstraint(
                    model_name='walkthroughstep',
                    constraint=models.UniqueConstraint(fields=('walkthrough', 'order'), name='kb_walkstep_unique_order'),
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(content_types_to_trees, content_types_to_kb),
    ]
