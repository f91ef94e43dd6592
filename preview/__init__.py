"""The offline preview: the real program under Pulumi's mock engine, with a stack's own config."""

from preview.harness import Preview, Resource, run_preview, stack_config

__all__ = ["Preview", "Resource", "run_preview", "stack_config"]
