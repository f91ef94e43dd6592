"""Backups: the encrypted S3 bucket, its least-privilege writer, and the scheduled backup runner."""

from __future__ import annotations

from collections.abc import Mapping

import pulumi
import pulumi_aws as aws

from components.backups import render_schedules as schedules
from components.backups import render_storage as storage
from components.bucket_policies import bucket_arn, bucket_name, policy_json
from components.buckets import hardened_bucket
from components.containers import (
    ComponentContainers,
    ContainerFile,
    ContainerSpec,
    HealthCheck,
    Mount,
    data_volume,
)
from components.images import image
from config.settings import Settings

GOVERNANCE = "GOVERNANCE"
# The SDK's names for these nested inputs run past a line.
LockRetentionArgs = aws.s3.BucketObjectLockConfigurationRuleDefaultRetentionArgs
DeleteMarkerReplicationArgs = aws.s3.BucketReplicationConfigRuleDeleteMarkerReplicationArgs
SseKmsObjectsArgs = (
    aws.s3.BucketReplicationConfigRuleSourceSelectionCriteriaSseKmsEncryptedObjectsArgs
)
SourceSelectionArgs = aws.s3.BucketReplicationConfigRuleSourceSelectionCriteriaArgs
ReplicaEncryptionArgs = aws.s3.BucketReplicationConfigRuleDestinationEncryptionConfigurationArgs


class Backups(pulumi.ComponentResource):
    """Daily and weekly backups of the database and the state volumes into a hardened bucket."""

    bucket_name: pulumi.Output[str]
    key_arn: pulumi.Output[str]
    writer_access_key_id: pulumi.Output[str]
    writer_secret_access_key: pulumi.Output[str]
    replica_bucket_name: pulumi.Output[str] | None
    restore_command: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        *,
        settings: Settings,
        network: pulumi.Input[str],
        database_url: pulumi.Input[str],
        state_volumes: Mapping[str, pulumi.Input[str]],
        push_url: pulumi.Input[str] | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("observability:backups:Backups", name, None, opts)
        if settings.aws_region is None:
            raise ValueError("Backups needs the stack's aws:region")
        self._name = name
        self._settings = settings
        self._containers = ComponentContainers(name, settings, network, parent=self)
        self._region = settings.aws_region

        identity = aws.get_caller_identity_output(opts=pulumi.InvokeOutputOptions(parent=self))
        account_id = identity.account_id

        key = self._key("key", region=None)
        bucket, guards = self._bucket(
            "bucket",
            account_id.apply(lambda account: bucket_name(settings, account, "backups")),
            key,
            region=None,
        )
        writer_key = self._writer(bucket, key)

        self.replica_bucket_name = None
        if settings.backups.replica_region is not None:
            replica_region = settings.backups.replica_region
            replica_key = self._key("replica-key", region=replica_region)
            replica, replica_guards = self._bucket(
                "replica",
                account_id.apply(lambda account: bucket_name(settings, account, "replica")),
                replica_key,
                region=replica_region,
            )
            guards.append(self._replication(bucket, key, replica, replica_key, replica_guards))
            self.replica_bucket_name = replica.bucket

        self._runner(
            bucket=bucket,
            access_key=writer_key,
            database_url=database_url,
            state_volumes=state_volumes,
            push_url=push_url,
            depends_on=guards,
        )

        self.bucket_name = bucket.bucket
        self.key_arn = key.arn
        self.writer_access_key_id = writer_key.id
        # The mock engine does not apply the provider's secret marking, so mark it here too.
        self.writer_secret_access_key = pulumi.Output.secret(writer_key.secret)
        self.restore_command = bucket.bucket.apply(
            lambda name: " ".join(schedules.restore_command(name))
        )
        outputs: dict[str, object] = {
            "bucket_name": self.bucket_name,
            "key_arn": self.key_arn,
            "writer_access_key_id": self.writer_access_key_id,
            "writer_secret_access_key": self.writer_secret_access_key,
            "restore_command": self.restore_command,
        }
        if self.replica_bucket_name is not None:
            outputs["replica_bucket_name"] = self.replica_bucket_name
        self.register_outputs(outputs)

    def _protected(self, depends_on: list[pulumi.Resource] | None = None) -> pulumi.ResourceOptions:
        # In prod, losing the bucket or its key loses every backup: neither `pulumi destroy`
        # nor a rename may delete them.
        prod = self._settings.prod
        return pulumi.ResourceOptions(
            parent=self, protect=prod, retain_on_delete=prod, depends_on=depends_on
        )

    def _key(self, role: str, *, region: str | None) -> aws.kms.Key:
        settings = self._settings
        key = aws.kms.Key(
            f"{self._name}-{role}",
            description=f"Encrypts the {settings.project} {settings.stack} backups",
            enable_key_rotation=True,
            deletion_window_in_days=settings.backups.key_deletion_days(settings.prod),
            region=region,
            tags=self._tags(),
            opts=self._protected(),
        )
        aws.kms.Alias(
            f"{self._name}-{role}-alias",
            name=f"alias/{settings.project}-{settings.stack}-backups"
            + ("" if region is None else f"-{region}"),
            target_key_id=key.key_id,
            region=region,
            opts=pulumi.ResourceOptions(parent=self),
        )
        return key

    def _bucket(
        self,
        role: str,
        name: pulumi.Input[str],
        key: aws.kms.Key,
        *,
        region: str | None,
    ) -> tuple[aws.s3.Bucket, list[pulumi.Resource]]:
        """A bucket with every control: the bucket and the resources that guard it."""
        settings = self._settings
        lock_days = settings.backups.lock_days(settings.prod)
        resource = f"{self._name}-{role}"
        hardened = hardened_bucket(
            resource,
            name=name,
            lifecycle=storage.lifecycle_rules(settings),
            kms_key_arn=key.arn,
            region=region,
            tags=self._tags(),
            # In prod, losing the bucket loses every backup.
            protect=settings.prod,
            parent=self,
            object_lock_enabled=lock_days is not None,
        )
        bucket, versioning, guards = hardened.bucket, hardened.versioning, [*hardened.guards]

        if lock_days is not None:
            guards.append(
                aws.s3.BucketObjectLockConfiguration(
                    f"{resource}-object-lock",
                    bucket=bucket.bucket,
                    rule=aws.s3.BucketObjectLockConfigurationRuleArgs(
                        default_retention=LockRetentionArgs(mode=GOVERNANCE, days=lock_days)
                    ),
                    region=region,
                    opts=self._protected(depends_on=[versioning]),
                )
            )
        return bucket, guards

    def _writer(self, bucket: aws.s3.Bucket, key: aws.kms.Key) -> aws.iam.AccessKey:
        """The IAM identity the runner uses: put and list under the tier prefixes only."""
        settings = self._settings
        user = aws.iam.User(
            f"{self._name}-writer",
            name=f"{settings.project}-{settings.stack}-backup-writer",
            tags=self._tags(),
            opts=pulumi.ResourceOptions(parent=self),
        )
        aws.iam.UserPolicy(
            f"{self._name}-writer-policy",
            user=user.name,
            policy=pulumi.Output.all(bucket.bucket, key.arn).apply(
                lambda values: policy_json(
                    storage.writer_policy(values[0], values[1], self._region)
                )
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        return aws.iam.AccessKey(
            f"{self._name}-writer-key", user=user.name, opts=pulumi.ResourceOptions(parent=self)
        )

    def _replication(
        self,
        source: aws.s3.Bucket,
        source_key: aws.kms.Key,
        replica: aws.s3.Bucket,
        replica_key: aws.kms.Key,
        replica_guards: list[pulumi.Resource],
    ) -> aws.s3.BucketReplicationConfig:
        """Copy every new version into the replica bucket in the second region."""
        settings = self._settings
        replica_region = settings.backups.replica_region
        role = aws.iam.Role(
            f"{self._name}-replication-role",
            name=f"{settings.project}-{settings.stack}-backup-replication",
            assume_role_policy=policy_json(storage.replication_trust_policy()),
            tags=self._tags(),
            opts=pulumi.ResourceOptions(parent=self),
        )
        policy = aws.iam.RolePolicy(
            f"{self._name}-replication-policy",
            role=role.name,
            policy=pulumi.Output.all(
                source.bucket, replica.bucket, source_key.arn, replica_key.arn
            ).apply(
                lambda values: policy_json(
                    storage.replication_policy(
                        values[0],
                        values[1],
                        values[2],
                        values[3],
                        (self._region, str(replica_region)),
                    )
                )
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        return aws.s3.BucketReplicationConfig(
            f"{self._name}-replication",
            bucket=source.bucket,
            role=role.arn,
            rules=[
                aws.s3.BucketReplicationConfigRuleArgs(
                    id="replicate-backups",
                    status="Enabled",
                    filter=aws.s3.BucketReplicationConfigRuleFilterArgs(prefix=""),
                    # Deleting in one region must not delete in the other.
                    delete_marker_replication=DeleteMarkerReplicationArgs(status="Disabled"),
                    source_selection_criteria=SourceSelectionArgs(
                        sse_kms_encrypted_objects=SseKmsObjectsArgs(status="Enabled")
                    ),
                    destination=aws.s3.BucketReplicationConfigRuleDestinationArgs(
                        bucket=replica.bucket.apply(bucket_arn),
                        encryption_configuration=ReplicaEncryptionArgs(
                            replica_kms_key_id=replica_key.arn
                        ),
                    ),
                )
            ],
            opts=pulumi.ResourceOptions(parent=self, depends_on=[policy, *replica_guards]),
        )

    def _runner(
        self,
        *,
        bucket: aws.s3.Bucket,
        access_key: aws.iam.AccessKey,
        database_url: pulumi.Input[str],
        state_volumes: Mapping[str, pulumi.Input[str]],
        push_url: pulumi.Input[str] | None,
        depends_on: list[pulumi.Resource],
    ) -> None:
        """The Pushgateway, the database dump container and the backup runner."""
        settings = self._settings
        memory = settings.backups.memory_limit

        self._containers.declare(
            ContainerSpec(
                role="pushgateway",
                image=image("pushgateway"),
                memory_mb=memory("pushgateway"),
                healthcheck=HealthCheck(
                    test=[
                        "CMD",
                        "wget",
                        "-q",
                        "--spider",
                        f"http://127.0.0.1:{schedules.PUSHGATEWAY_PORT}/-/healthy",
                    ]
                ),
            )
        )

        # The dump is rewritten before every archive, so losing it loses nothing: not protected.
        dumps = data_volume(
            f"{self._name}-dumps",
            stack=settings.stack,
            role="postgres-dump",
            protect=False,
            parent=self,
        )
        self._containers.declare(
            ContainerSpec(
                role="postgres-dump",
                image=image("postgres"),
                memory_mb=memory("postgres-dump"),
                command=schedules.idle_command(),
                healthcheck=HealthCheck(
                    test=[
                        "CMD-SHELL",
                        f'pg_isready --timeout=3 --dbname="$(cat {schedules.DATABASE_URL_PATH})"',
                    ],
                    interval="5m",
                ),
                files=[
                    ContainerFile(schedules.DATABASE_URL_PATH, database_url, permissions="0400")
                ],
                mounts=[Mount(target=schedules.DUMPS_DIR, source=dumps.name)],
                labels=schedules.dump_labels(settings),
                networks=[settings.ports.app_network] if settings.ports.app_network else [],
            )
        )

        secret = pulumi.Output.secret
        push = None if push_url is None else pulumi.Output.from_input(push_url)
        plan = schedules.schedules(settings)
        files = [
            ContainerFile(schedules.TEMPLATE_PATH, schedules.render_notification_template()),
            *(
                ContainerFile(
                    schedules.schedule_env_path(schedule),
                    schedules.render_schedule_env(settings, schedule),
                )
                for schedule in plan
            ),
            *(
                ContainerFile(
                    schedules.notification_urls_path(schedule),
                    _notification_urls(schedule, push),
                    permissions="0400",
                )
                for schedule in plan
            ),
            ContainerFile(schedules.ACCESS_KEY_ID_PATH, secret(access_key.id), "0400"),
            ContainerFile(schedules.SECRET_ACCESS_KEY_PATH, secret(access_key.secret), "0400"),
        ]
        mounts = [
            # The runner asks Docker to run the dump command in the dump container.
            Mount(
                target=schedules.DOCKER_SOCKET,
                source=schedules.DOCKER_SOCKET,
                type="bind",
                read_only=True,
            ),
            Mount(target=f"{schedules.SOURCES_DIR}/postgres", source=dumps.name, read_only=True),
            *(
                Mount(target=schedules.volume_mount_path(role), source=volume, read_only=True)
                for role, volume in sorted(state_volumes.items())
            ),
        ]
        self._containers.declare(
            ContainerSpec(
                role="backup",
                image=image("backup"),
                memory_mb=memory("backup"),
                # Limitation: the runner has no health endpoint; a live process is all we see.
                healthcheck=HealthCheck(test=["CMD", "pgrep", "backup"]),
                envs=[
                    bucket.bucket.apply(schedules.bucket_environment),
                    *schedules.runner_environment(storage.s3_endpoint(self._region)),
                ],
                files=files,
                mounts=mounts,
            ),
            depends_on=depends_on,
        )

    def _tags(self) -> dict[str, str]:
        return {"project": self._settings.project, "stack": self._settings.stack}


def _notification_urls(
    schedule: schedules.Schedule, push: pulumi.Output[str] | None
) -> pulumi.Input[str]:
    if push is None:
        return schedules.notification_urls(schedule, None)
    return pulumi.Output.secret(push.apply(lambda url: schedules.notification_urls(schedule, url)))
