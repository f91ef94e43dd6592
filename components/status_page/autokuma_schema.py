"""The shape of AutoKuma's static entity files, taken from AutoKuma 2.0's own models.

AutoKuma deserialises each file with serde into the structs of its `kuma-client` crate
(`models/monitor.rs`, `notification.rs`, `status_page.rs`) and silently drops keys it does not
know, so a misspelled key would simply not reach Uptime Kuma. These models accept exactly the
names those structs accept (the renamed name and its alias), with their types, and reject any
other key. Notification `config` objects follow Uptime Kuma 2's providers (`slack.js`,
`smtp.js`).
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, TypeAdapter

# `monitor.rs` validates push tokens with this pattern after templates are filled in.
PUSH_TOKEN = re.compile(r"^[A-Za-z0-9]{32}$")
ENV_TEMPLATE = re.compile(r"^\{\{ get_env\(name='(AUTOKUMA__ENV__[A-Z0-9_]+)'\) \}\}$")


def _alias(*names: str) -> Any:
    return Field(default=None, validation_alias=AliasChoices(*names))


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class TagValue(_Strict):
    """A tag on a monitor, by the tag's AutoKuma id."""

    name: str
    value: str | None = None


class _Monitor(_Strict):
    # The fields every monitor type shares (`monitor_type!` in monitor.rs).
    name: str
    description: str | None = None
    interval: int | None = Field(default=None, ge=20)
    active: bool | None = None
    max_retries: int | None = _alias("maxretries", "max_retries")
    retry_interval: int | None = _alias("retryInterval", "retry_interval")
    upside_down: bool | None = _alias("upsideDown", "upside_down")
    parent: int | None = None
    accepted_statuscodes: list[str] | None = None
    parent_name: str | None = None
    create_paused: bool | None = None
    notification_name_list: list[str] | None = None
    tag_names: list[TagValue] | None = None


class _HttpOptions(_Monitor):
    # The fields of `MonitorHttp` that `MonitorKeyword` shares.
    url: str = Field(pattern=r"^https?://")
    timeout: int | None = Field(default=None, ge=1)
    resend_interval: int | None = _alias("resendInterval", "resend_interval")
    expiry_notification: bool | None = _alias("expiryNotification", "expiry_notification")
    ignore_tls: bool | None = _alias("ignoreTls", "ignore_tls")
    max_redirects: int | None = _alias("maxredirects", "max_redirects")
    proxy_id: int | None = _alias("proxyId", "proxy_id")
    method: Literal["DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT"] | None = None
    http_body_encoding: Literal["json", "form", "xml"] | None = _alias(
        "httpBodyEncoding", "http_body_encoding"
    )
    body: str | None = None
    headers: str | None = None
    auth_method: Literal["null", "basic", "oauth2-cc", "ntlm", "mtls"] | None = _alias("authMethod")
    basic_auth_user: str | None = None
    basic_auth_pass: str | None = None


class HttpMonitor(_HttpOptions):
    """`type = "http"`: an HTTP(S) request that must answer an accepted status code."""

    type: Literal["http"]
    cache_bust: bool | None = _alias("cacheBust", "cache_bust")


class KeywordMonitor(_HttpOptions):
    """`type = "keyword"`: an HTTP(S) request whose body must contain a keyword."""

    type: Literal["keyword"]
    keyword: str = Field(min_length=1)
    invert_keyword: bool | None = _alias("invertKeyword", "invert_keyword")


class PortMonitor(_Monitor):
    """`type = "port"`: a TCP connection to a host and port."""

    type: Literal["port"]
    hostname: str = Field(min_length=1)
    port: int = Field(ge=1, le=65535)


class PingMonitor(_Monitor):
    """`type = "ping"`: ICMP echo requests to a host."""

    type: Literal["ping"]
    hostname: str = Field(min_length=1)
    packet_size: int | None = _alias("packetSize", "packet_size")


class PushMonitor(_Monitor):
    """`type = "push"`: down unless something requests its push URL every interval."""

    type: Literal["push"]
    push_token: str = Field(validation_alias=AliasChoices("pushToken", "push_token"))


class GroupMonitor(_Monitor):
    """`type = "group"`: a folder of monitors that is down when one of them is."""

    type: Literal["group"]


class SlackConfig(_Strict):
    """Uptime Kuma's Slack provider (`slack.js`)."""

    type: Literal["slack"]
    webhook_url: str = Field(alias="slackwebhookURL", min_length=1)
    channel: str | None = Field(default=None, alias="slackchannel")
    username: str | None = Field(default=None, alias="slackusername")
    icon_emoji: str | None = Field(default=None, alias="slackiconemo")
    channel_notify: bool | None = Field(default=None, alias="slackchannelnotify")


class SmtpConfig(_Strict):
    """Uptime Kuma's SMTP provider (`smtp.js`)."""

    type: Literal["smtp"]
    host: str = Field(alias="smtpHost", min_length=1)
    port: int = Field(alias="smtpPort", ge=1, le=65535)
    secure: bool | None = Field(default=None, alias="smtpSecure")
    ignore_tls_error: bool | None = Field(default=None, alias="smtpIgnoreTLSError")
    username: str | None = Field(default=None, alias="smtpUsername")
    password: str | None = Field(default=None, alias="smtpPassword")
    sender: str = Field(alias="smtpFrom", min_length=3)
    to: str = Field(alias="smtpTo", min_length=3)
    cc: str | None = Field(default=None, alias="smtpCC")
    bcc: str | None = Field(default=None, alias="smtpBCC")
    subject: str | None = Field(default=None, alias="customSubject")
    body: str | None = Field(default=None, alias="customBody")


class Notification(_Strict):
    """`type = "notification"`: a channel monitors name in `notification_name_list`."""

    type: Literal["notification"]
    name: str = Field(min_length=1)
    active: bool | None = None
    is_default: bool | None = _alias("isDefault", "is_default")
    config: Annotated[SlackConfig | SmtpConfig, Field(discriminator="type")]


class StatusPage(_Strict):
    """`type = "status_page"`: a public status page (`status_page.rs`).

    `domainNameList` and `publicGroupList` are left out: AutoKuma turns arrays in a file into
    JSON text, which only its leniently parsed fields accept, and these two are not.
    """

    type: Literal["status_page"]
    slug: str = Field(pattern=r"^[a-z0-9-]+$")
    title: str = Field(min_length=1)
    description: str | None = None
    icon: str | None = None
    theme: Literal["auto", "light", "dark"] | None = None
    published: bool | None = None
    show_tags: bool | None = Field(default=None, alias="showTags")
    custom_css: str | None = Field(default=None, alias="customCSS")
    footer_text: str | None = Field(default=None, alias="footerText")
    show_powered_by: bool | None = Field(default=None, alias="showPoweredBy")
    google_analytics_id: str | None = Field(default=None, alias="googleAnalyticsId")
    show_certificate_expiry: bool | None = Field(default=None, alias="showCertificateExpiry")


Monitor = Annotated[
    HttpMonitor | KeywordMonitor | PortMonitor | PingMonitor | PushMonitor | GroupMonitor,
    Field(discriminator="type"),
]
Entity = Annotated[
    HttpMonitor
    | KeywordMonitor
    | PortMonitor
    | PingMonitor
    | PushMonitor
    | GroupMonitor
    | Notification
    | StatusPage,
    Field(discriminator="type"),
]

ENTITY = TypeAdapter(Entity)
"""Validates one parsed entity file: `ENTITY.validate_python(json.loads(text))`."""
