"""The CrossGuard policy pack: `pulumi preview --policy-pack policy` enforces the guardrails."""

from crossguard import PACK_NAME, POLICIES, keep_secret_marks
from pulumi_policy import EnforcementLevel, PolicyPack

keep_secret_marks()
PolicyPack(name=PACK_NAME, policies=POLICIES, enforcement_level=EnforcementLevel.MANDATORY)
