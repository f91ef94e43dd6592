"""Edge security: Cloudflare in front of every public host name, and a locked origin."""

from components.edge.component import EdgeSecurity

__all__ = ["EdgeSecurity"]
