"""nginx.conf for the edge, routing as upstream's nginx.conf at 26.8.0.

Ingest goes to Relay (`/api/store/`, `~ ^/api/[1-9]\\d*/` for envelope/store/minidump/security and
the other per-project endpoints, `^~ /api/0/relays/` for relay registration), everything else to
web; bodies up to 100m, 90 s read timeout, X-Forwarded-* for web and Relay.

Differences from upstream:
- Web and Relay are found again when they are replaced. nginx resolves an `upstream` block's
  names once, at start; upstream's compose recreates nginx whenever web or Relay is recreated
  (`depends_on: ... restart: true`), which nothing does for a `pulumi up`. With `resolver`
  (Docker: the engine's embedded DNS) every `proxy_pass` names its peer through a variable, so
  nginx asks the resolver again once an answer is `valid` seconds old and follows a new container.
  Without one (Kubernetes) the names are resolved once: they are Services, whose cluster address
  outlives every pod behind it, and nginx then needs no DNS at all while it runs.
- Runs as its own user (nginx's unprivileged image): no `user` line, the pid file in /tmp, port
  8080 (EDGE_PORT), temporary files on the cache volume, whatever the image was built with.
- `set_real_ip_from` lists the proxies the operator trusts (FilesContext.trusted_proxies; by
  default the private and CGNAT ranges Docker networks and Kubernetes pod networks use) rather
  than Docker's address pools only; `real_ip_recursive` keeps the rightmost untrusted address,
  so a client cannot pose as an internal address through a proxy that appends to the header.
- X-Forwarded-Proto: with an https public URL, TLS always ends in front of this nginx (ingress or
  host proxy), so it sends `https`; upstream's `$scheme` would say http and break CSRF checks.
"""

from __future__ import annotations

from typing import Optional

INGEST_LOCATIONS = ("/api/store/", r"~ ^/api/[1-9]\d*/", "^~ /api/0/relays/")
# What nginx listens on: above 1024, so that its own unprivileged user may bind it everywhere.
EDGE_PORT = 8080
# Docker's embedded DNS server, in every container on a user-defined network.
DOCKER_DNS = "127.0.0.11"
# How long nginx keeps an answer: a replaced container is reached within this many seconds
# (Docker's DNS says 600 in its answers).
RESOLVE_VALID_SECONDS = 10
TEMP_DIR = "/var/cache/nginx"


def render_nginx_conf(ctx, resolver: Optional[str] = None) -> str:
    """The edge's nginx.conf; `resolver`: the DNS server to ask again for web and Relay (None:
    resolve them once, at start)."""
    real_ip = "".join(f"\tset_real_ip_from {net};\n" for net in ctx.trusted_proxies)
    proto = "https" if ctx.https else "$scheme"
    relay, web = f"{ctx.hosts.relay}:3000", f"{ctx.hosts.web}:9000"
    if resolver:
        peers = (f"\tresolver {resolver} valid={RESOLVE_VALID_SECONDS}s ipv6=off;\n\tresolver_timeout 5s;\n")
        server_vars = f"\t\tset $relay_peer {relay};\n\t\tset $web_peer {web};\n\n"
        to_relay, to_web = "http://$relay_peer", "http://$web_peer"
        # With a variable, proxy_pass sends a URI it is given as is: rewrite the path instead.
        assets = (f"\t\t\trewrite ^/_assets/(.*)$ /_static/dist/sentry/$1 break;\n"
                  f"\t\t\tproxy_pass {to_web};\n")
    else:
        peers = (f"\tupstream relay {{\n\t\tserver {relay};\n\t\tkeepalive 2;\n\t}}\n\n"
                 f"\tupstream sentry {{\n\t\tserver {web};\n\t\tkeepalive 2;\n\t}}\n")
        server_vars = ""
        to_relay, to_web = "http://relay", "http://sentry"
        assets = f"\t\t\tproxy_pass {to_web}/_static/dist/sentry/;\n"
    ingest = "".join(
        f"\t\tlocation {location} {{\n\t\t\tproxy_pass {to_relay};\n\t\t}}\n" for location in INGEST_LOCATIONS
    )
    temp = "".join(f"\t{kind}_temp_path {TEMP_DIR}/{folder};\n" for kind, folder in (
        ("client_body", "client_temp"), ("proxy", "proxy_temp"), ("fastcgi", "fastcgi_temp"),
        ("uwsgi", "uwsgi_temp"), ("scgi", "scgi_temp")))
    return f"""\
# Rendered by error-tracking.
worker_processes auto;

error_log /var/log/nginx/error.log warn;
pid /tmp/nginx.pid;

events {{
	worker_connections 1024;
}}

http {{
	include /etc/nginx/mime.types;
	default_type application/octet-stream;

	log_format main '$remote_addr - $remote_user [$time_local] "$request" '
		'$status $body_bytes_sent "$http_referer" '
		'"$http_user_agent" "$http_x_forwarded_for"';
	access_log /var/log/nginx/access.log main;

{temp}
	sendfile on;
	tcp_nopush on;
	tcp_nodelay on;
	reset_timedout_connection on;
	keepalive_timeout 75s;
	gzip off;
	server_tokens off;

	server_names_hash_bucket_size 64;
	types_hash_max_size 2048;
	types_hash_bucket_size 64;
	client_body_buffer_size 64k;
	client_max_body_size 100m;

	proxy_http_version 1.1;
	proxy_redirect off;
	proxy_buffer_size 128k;
	proxy_buffers 4 256k;
	proxy_busy_buffers_size 256k;

{real_ip}\treal_ip_header X-Forwarded-For;
	real_ip_recursive on;

	# A client's "Connection: close" is not passed on to web or Relay.
	proxy_set_header Connection '';
	proxy_set_header Host $host;
	proxy_set_header X-Forwarded-For $remote_addr;
	proxy_set_header X-Forwarded-Proto {proto};
	proxy_set_header X-Request-Id $request_id;
	proxy_read_timeout 90s;
	proxy_send_timeout 5s;

{peers}
	server {{
		listen {EDGE_PORT};

{server_vars}{ingest}\t\tlocation ^~ /js-sdk/ {{
			root /var/www/;
			add_header Access-Control-Allow-Origin *;
		}}
		location / {{
			proxy_pass {to_web};
		}}
		location /_assets/ {{
{assets}\t\t\tproxy_hide_header Content-Disposition;
		}}
		location /_static/ {{
			proxy_pass {to_web};
			proxy_hide_header Content-Disposition;
		}}
	}}
}}
"""
