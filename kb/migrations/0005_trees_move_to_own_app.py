"""Decision trees moved to their own app (trees): kb forgets the models; the tables stay as they are.

State only: trees/0001_initial takes the same tables over (its models keep ``db_table = "kb_..."``), so
no row is copied or lost.
"""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('kb', '0004_trees'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveField(
                    model_name='treenode',
                    name='linked_tree',
                ),
                migrations.RemoveField(
                    model_name='treenode',
                    name='tree',
                ),
                migrations.RemoveField(
                    model_name='walkthrough',
                    name='tree',
                ),
                migrations.RemoveField(
                    model_name='treerevision',
                    name='tree',
                ),
                migrations.RemoveField(
                    model_name='treenode',
                    name='article',
                ),
                migrations.RemoveField(
                    model_name='treenode',
                    name='check_def',
                ),
                migrations.RemoveField(
                    model_name='treenode',
                    name='solution',
                ),
                migrations.RemoveField(
                    model_name='treerevision',
                    name='author',
                ),
                migrations.RemoveField(
                    model_name='walkthrough',
                    name='parent',
                ),
                migrations.RemoveField(
                    model_name='walkthrough',
                    name='user',
                ),
                migrations.RemoveField(
                    model_name='walkthroughstep',
                    name='walkthrough',
                ),
                migrations.RemoveField(
                    model_name='walkthroughstep',
                    name='check_run',
                ),
                migrations.DeleteModel(
                    name='DecisionTree',
                ),
                migrations.DeleteModel(
                    name='TreeNode',
                ),
                migrations.DeleteModel(
                    name='TreeRevision',
                ),
                migrations.DeleteModel(
                    name='Walkthrough',
                ),
                migrations.DeleteModel(
                    name='WalkthroughStep',
                ),
            ],
            database_operations=[],
        ),
    ]
