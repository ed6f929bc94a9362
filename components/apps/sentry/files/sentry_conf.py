"""sentry.conf.py: Sentry's Django settings, following upstream's sentry.conf.example.py (26.8.0).

Differences from upstream, each on purpose:
- Secrets (secret key, Postgres, Redis, mail, Kafka SASL, S3 keys) are read from os.environ;
  upstream leaves Postgres/Redis passwordless and writes the S3 keys `sentry`/`sentry` inline.
- Relay trust is by key: SENTRY_RELAY_WHITELIST_PK is *assigned* our Relay's public key (older
  server.py ships a development key in it) and `relay.static_auth` names our relay id with that
  key; open registration stays off.
- INTERNAL_SYSTEM_IPS: Sentry uses it for two things, relays trusted by address and the system
  token that Sentry hands Symbolicator to fetch debug files and source maps back from web
  (`sentry.auth.system.SystemToken`: valid only from an internal address). Relays no longer need
  it (trusted by key above), Symbolicator does. Upstream trusts the container's own network;
  we take explicit networks from the platform when it knows them (FilesContext.internal_networks)
  and fall back to the container's own networks otherwise: never Sentry's default, which is
  every private range.
- The node store is Postgres unless Sentry's image ships sentry-nodestore-s3 (built from
  images/sentry-nodestore/Dockerfile, or the operator's); then upstream's S3 block, reading and
  deleting through Postgres so that payloads stored before the switch stay readable.
- The S3 file store (where no volume is shared) is set here, its keys read from the environment.
- Behind HTTPS: the proxy TLS header, secure cookies and CSRF_TRUSTED_ORIGINS for the public URL.
"""

from __future__ import annotations

from . import env
from .features import DISABLED_FEATURES, enabled_features


def _py(value) -> str:
    """A Python literal for a plain value (repr is valid Python for str/int/bool/None/tuples)."""
    return repr(value)


def _internal_networks(ctx) -> str:
    if ctx.internal_networks:
        return f"INTERNAL_SYSTEM_IPS = {_py(tuple(ctx.internal_networks))}\n"
    return '''\
def _own_networks():
    """The IPv4 networks this container is attached to (loopback excluded), read from the kernel."""
    import fcntl, ipaddress, socket, struct
    found = []
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        for _, name in socket.if_nameindex():
            if name == "lo":
                continue
            request = struct.pack("256s", name.encode()[:15])
            try:
                address = socket.inet_ntoa(fcntl.ioctl(sock.fileno(), 0x8915, request)[20:24])
                netmask = socket.inet_ntoa(fcntl.ioctl(sock.fileno(), 0x891B, request)[20:24])
            except OSError:
                continue
            found.append(str(ipaddress.ip_network(f"{address}/{netmask}", strict=False)))
    return tuple(found)


INTERNAL_SYSTEM_IPS = _own_networks()
'''


def _databases(ctx) -> str:
    pg = ctx.postgres
    options = f', "OPTIONS": {{"sslmode": {_py(pg.sslmode)}}}' if pg.sslmode else ""
    return (
        "DATABASES = {\n"
        '    "default": {\n'
        '        "ENGINE": "sentry.db.postgres",\n'
        f'        "NAME": {_py(pg.name)},\n'
        f'        "USER": {_py(pg.user)},\n'
        f'        "PASSWORD": _required({_py(env.POSTGRES_PASSWORD)}),\n'
        f'        "HOST": {_py(pg.host)},\n'
        f'        "PORT": {_py(str(pg.port))}{options},\n'
        "    }\n"
        "}\n"
    )


def _kafka(ctx) -> str:
    lines = [f"    {_py(k)}: {_py(v)}," for k, v in ctx.kafka.client_settings().items()]
    lines += ['    "message.max.bytes": 50000000,', '    "socket.timeout.ms": 1000,']
    if ctx.kafka.uses_sasl:
        lines.append(f'    "sasl.password": _required({_py(env.KAFKA_SASL_PASSWORD)}),')
    return (
        "DEFAULT_KAFKA_OPTIONS = {\n" + "\n".join(lines) + "\n}\n"
        'SENTRY_EVENTSTREAM = "sentry.eventstream.kafka.KafkaEventStream"\n'
        'SENTRY_EVENTSTREAM_OPTIONS = {"producer_configuration": DEFAULT_KAFKA_OPTIONS}\n'
        'KAFKA_CLUSTERS["default"] = DEFAULT_KAFKA_OPTIONS\n'
    )


def _nodestore(ctx) -> str:
    if ctx.nodestore != "s3":
        return (
            "# Events' raw payloads live in Postgres (the published image has no S3 node store).\n"
            'SENTRY_NODESTORE = "sentry.nodestore.django.DjangoNodeStorage"\n'
            "SENTRY_NODESTORE_OPTIONS = {}\n"
        )
    s3 = ctx.storage
    return (
        "# Sentry's image ships sentry-nodestore-s3; read/delete through Postgres so events\n"
        "# stored before the switch stay readable (and `sentry cleanup` still empties the table).\n"
        'SENTRY_NODESTORE = "sentry_nodestore_s3.S3PassthroughDjangoNodeStorage"\n'
        "SENTRY_NODESTORE_OPTIONS = {\n"
        '    "compression": True,\n'
        f'    "endpoint_url": {_py(s3.endpoint_url)},\n'
        f'    "bucket_path": {_py(s3.nodestore_bucket)},\n'
        f'    "bucket_name": {_py(s3.nodestore_bucket)},\n'
        f'    "region_name": {_py(s3.region)},\n'
        f'    "aws_access_key_id": _required({_py(env.S3_ACCESS_KEY_ID)}),\n'
        f'    "aws_secret_access_key": _required({_py(env.S3_SECRET_ACCESS_KEY)}),\n'
        '    "read_through": True,\n'
        '    "delete_through": True,\n'
        "}\n"
    )


def _profiles_storage(ctx) -> str:
    if not ctx.feature_complete:
        return ""
    s3 = ctx.storage
    return (
        "# Profiles go to the S3 bucket Vroom reads too (keys from the environment, so here).\n"
        'SENTRY_OPTIONS["filestore.profiles-backend"] = "s3"\n'
        'SENTRY_OPTIONS["filestore.profiles-options"] = {\n'
        '    "bucket_acl": "private",\n'
        '    "default_acl": "private",\n'
        f'    "access_key": _required({_py(env.S3_ACCESS_KEY_ID)}),\n'
        f'    "secret_key": _required({_py(env.S3_SECRET_ACCESS_KEY)}),\n'
        f'    "bucket_name": {_py(s3.profiles_bucket)},\n'
        f'    "region_name": {_py(s3.region)},\n'
        f'    "endpoint_url": {_py(s3.endpoint_url)},\n'
        '    "addressing_style": "path",\n'
        '    "signature_version": "s3v4",\n'
        "}\n"
    )


def _filestore(ctx) -> str:
    if ctx.filestore != "s3":
        return ""
    s3 = ctx.storage
    return (
        "# Uploaded files (source maps, debug files, attachments) in the S3 store, never expired.\n"
        'SENTRY_OPTIONS["filestore.backend"] = "s3"\n'
        'SENTRY_OPTIONS["filestore.options"] = {\n'
        '    "bucket_acl": "private",\n'
        '    "default_acl": "private",\n'
        f'    "access_key": _required({_py(env.S3_ACCESS_KEY_ID)}),\n'
        f'    "secret_key": _required({_py(env.S3_SECRET_ACCESS_KEY)}),\n'
        f'    "bucket_name": {_py(s3.files_bucket)},\n'
        f'    "region_name": {_py(s3.region)},\n'
        f'    "endpoint_url": {_py(s3.endpoint_url)},\n'
        f'    "addressing_style": {_py(s3.addressing_style)},\n'
        '    "signature_version": "s3v4",\n'
        "}\n"
    )


def _https(ctx) -> str:
    origins = (ctx.origin, *ctx.extra_csrf_origins)
    text = f"CSRF_TRUSTED_ORIGINS = {_py(list(origins))}\n"
    if ctx.https:
        text += (
            "# TLS ends in front of nginx; nginx tells web the request came in over https.\n"
            'SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")\n'
            "SESSION_COOKIE_SECURE = True\n"
            "CSRF_COOKIE_SECURE = True\n"
            "SOCIAL_AUTH_REDIRECT_IS_HTTPS = True\n"
        )
    return text


def _web(ctx) -> str:
    return (
        'SENTRY_WEB_HOST = "0.0.0.0"\n'
        "SENTRY_WEB_PORT = 9000\n"
        "SENTRY_WEB_OPTIONS = {\n"
        '    "http": f"{SENTRY_WEB_HOST}:{SENTRY_WEB_PORT}",\n'
        '    "protocol": "uwsgi",\n'
        '    "uwsgi-socket": None,\n'
        '    "so-keepalive": True,\n'
        '    "http-keepalive": 15,\n'
        '    "http-chunked-input": True,\n'
        f'    "workers": {ctx.web_workers},\n'
        '    "threads": 4,\n'
        '    "memory-report": False,\n'
        '    "max-requests": 100000,\n'
        '    "max-requests-delta": 500,\n'
        '    "max-worker-lifetime": 86400,\n'
        '    "thunder-lock": True,\n'
        '    "log-x-forwarded-for": False,\n'
        '    "buffer-size": 32768,\n'
        '    "limit-post": 209715200,\n'
        '    "disable-logging": True,\n'
        '    "reload-on-rss": 600,\n'
        '    "ignore-sigpipe": True,\n'
        '    "ignore-write-errors": True,\n'
        '    "disable-write-exception": True,\n'
        "}\n"
    )


def _relay_trust(ctx) -> str:
    return (
        "# Sentry trusts exactly our Relay: by its key (assigned, replacing any default entry) and\n"
        "# by its id; nobody may register another relay.\n"
        f"SENTRY_RELAY_WHITELIST_PK = [{_py(ctx.relay_public_key)}]\n"
        "SENTRY_RELAY_OPEN_REGISTRATION = False\n"
        'SENTRY_OPTIONS["relay.static_auth"] = {\n'
        f'    {_py(ctx.relay_id)}: {{"public_key": {_py(ctx.relay_public_key)}, "internal": True}},\n'
        "}\n"
    )


def _mail(ctx) -> str:
    if not ctx.mail.has_password:
        return ""
    return f'SENTRY_OPTIONS["mail.password"] = _required({_py(env.MAIL_PASSWORD)})\n'


def _features() -> str:
    names = "".join(f"        {_py(name)},\n" for name in enabled_features())
    disabled = "".join(f"SENTRY_FEATURES[{_py(name)}] = False\n" for name in DISABLED_FEATURES)
    return disabled + "SENTRY_FEATURES.update(\n    {name: True for name in (\n" + names + "    )}\n)\n"


def _statsd(ctx) -> str:
    if not ctx.statsd_addr:
        return ""
    host, _, port = ctx.statsd_addr.partition(":")
    return (
        'SENTRY_METRICS_BACKEND = "sentry.metrics.statsd.StatsdMetricsBackend"\n'
        f'SENTRY_METRICS_OPTIONS = {{"host": {_py(host)}, "port": {int(port or 8125)}}}\n'
    )


def render_sentry_conf_py(ctx) -> str:
    memcached = f"{ctx.hosts.memcached}:11211"
    redis = ctx.redis
    geoip = f"GEOIP_PATH_MMDB = {_py(ctx.geoip_path)}\n" if ctx.geoip_path else (
        "# No GeoIP database was supplied: IP geolocation stays off (GEOIP_PATH_MMDB unset).\n"
    )
    return (
        "# Rendered by error-tracking from its stack configuration; edits here are overwritten.\n"
        "# Secrets are read from the environment, never written into this file.\n"
        "import os\n\n"
        "from sentry.conf.server import *  # noqa: F401,F403\n\n\n"
        "def _required(name):\n"
        "    value = os.environ.get(name)\n"
        "    if not value:\n"
        '        raise RuntimeError(f"environment variable {name} is not set for this container")\n'
        "    return value\n\n\n"
        + _internal_networks(ctx) + "\n"
        + _databases(ctx) + "\n"
        + "SENTRY_SINGLE_ORGANIZATION = True\n"
        + f'SENTRY_OPTIONS["system.event-retention-days"] = {int(ctx.event_retention_days)}\n'
        + f'SENTRY_OPTIONS["system.secret-key"] = _required({_py(env.SECRET_KEY)})\n'
        + f"SENTRY_SELF_HOSTED_ERRORS_ONLY = {not ctx.feature_complete}\n"
        + "SENTRY_AIR_GAP = False\n\n"
        + _nodestore(ctx) + "\n"
        + 'SENTRY_OPTIONS["redis.clusters"] = {\n'
        + '    "default": {"hosts": {0: {'
        + f'"host": {_py(redis.host)}, "port": {_py(str(redis.port))}, '
        + f'"password": _required({_py(env.REDIS_PASSWORD)}), "db": {_py(str(redis.db))}'
        + "}}}\n}\n\n"
        + "CACHES = {\n"
        + '    "default": {\n'
        + '        "BACKEND": "sentry.cache.backends.reconnectingmemcache.ReconnectingMemcache",\n'
        + f'        "LOCATION": [{_py(memcached)}],\n'
        + '        "TIMEOUT": 3600,\n'
        + '        "OPTIONS": {"ignore_exc": True, "reconnect_age": 300},\n'
        + "    }\n}\n"
        + 'SENTRY_CACHE = "sentry.cache.redis.RedisCache"\n\n'
        + _kafka(ctx) + "\n"
        + 'SENTRY_RATELIMITER = "sentry.ratelimits.redis.RedisRateLimiter"\n'
        + 'SENTRY_BUFFER = "sentry.buffer.redis.RedisBuffer"\n'
        + 'SENTRY_QUOTAS = "sentry.quotas.redis.RedisQuota"\n'
        + 'SENTRY_TSDB = "sentry.tsdb.redissnuba.RedisSnubaTSDB"\n'
        + 'SENTRY_SEARCH = "sentry.search.snuba.EventsDatasetSnubaSearchBackend"\n'
        + "SENTRY_SEARCH_OPTIONS = {}\n"
        + "SENTRY_TAGSTORE_OPTIONS = {}\n"
        + 'SENTRY_DIGESTS = "sentry.digests.backends.redis.RedisBackend"\n\n'
        + _web(ctx) + "\n"
        + _https(ctx) + "\n"
        + _relay_trust(ctx) + "\n"
        + _mail(ctx)
        + _profiles_storage(ctx) + _filestore(ctx) + "\n"
        + _features() + "\n"
        + geoip
        + "CSP_REPORT_ONLY = True\n"
        + 'JS_SDK_LOADER_DEFAULT_SDK_URL = "https://browser.sentry-cdn.com/%s/bundle%s.min.js"\n'
        + _statsd(ctx)
    )
