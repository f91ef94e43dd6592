"""The stack's secrets in AWS Secrets Manager, one entry per secret, named per stack."""

from components.secrets.component import SecretStore

__all__ = ["SecretStore"]
