# Written by hand (issue 16, calendars): makemigrations would also pick up other helpers' models.

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('teams', '0006_organization_topology_version'),
        ('transform', '0015_audit_history'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='CalendarFeed',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('kind', models.CharField(choices=[('person', "A person's milestones and open check-ins"), ('transformation', 'Every milestone of a transformation')], max_length=16)),
                ('token_hash', models.CharField(max_length=64, unique=True)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('reset_at', models.DateTimeField(help_text='When the current URL was made.')),
                ('organization', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='teams.organization')),
                ('person', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='calendar_feeds', to='teams.person')),
                ('reset_by', models.ForeignKey(blank=True, help_text='Who made or last reset the URL.', null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('transformation', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='calendar_feeds', to='transform.transformation')),
            ],
            options={
                'constraints': [
                    models.CheckConstraint(condition=models.Q(models.Q(('kind', 'person'), ('person__isnull', False), ('transformation', None)), models.Q(('kind', 'transformation'), ('person', None), ('transformation__isnull', False)), _connector='OR'), name='calendar_feed_names_its_subject', violation_error_message="A person's feed names a person, a transformation's feed a transformation."),
                    models.UniqueConstraint(condition=models.Q(('person__isnull', False)), fields=('person',), name='one_calendar_feed_per_person', violation_error_message='This person has a calendar feed already.'),
                    models.UniqueConstraint(condition=models.Q(('transformation__isnull', False)), fields=('transformation',), name='one_calendar_feed_per_transformation', violation_error_message='This transformation has a calendar feed already.'),
                ],
            },
        ),
    ]
