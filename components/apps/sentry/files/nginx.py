"""nginx.conf for the edge, routing as upstream's nginx.conf at 26.8.0.

Ingest goes to Relay (`/api/store/`, `~ ^/api/[1-9]\\d*/` for envelope/store/minidump/security and
the other per-project endpoints, `^~ /api/0/relays/` for relay registration), everything else to
web; bodies up to 100m, 90 s read timeout, X-Forwarded-* for web and Relay.

Differences from upstream:
- `set_real_ip_from` lists the proxies the operator trusts (FilesContext.trusted_proxies; by
  default the private and CGNAT ranges Docker networks and Kubernetes pod networks use) rather
  than Docker's address pools only; `real_ip_recursive` keeps the rightmost untrusted address,
  so a client cannot pose as an internal address through a proxy that appends to the header.
- X-Forwarded-Proto: with an https public URL, TLS always ends in front of this nginx (ingress or
  host proxy), so it sends `https`; upstream's `$scheme` would say http and break CSRF checks.
"""

from __future__ import annotations

INGEST_LOCATIONS = ("/api/store/", r"~ ^/api/[1-9]\d*/", "^~ /api/0/relays/")


def render_nginx_conf(ctx) -> str:
    real_ip = "".join(f"\tset_real_ip_from {net};\n" for net in ctx.trusted_proxies)
    proto = "https" if ctx.https else "$scheme"
    ingest = "".join(
        f"\t\tlocation {location} {{\n\t\t\tproxy_pass http://relay;\n\t\t}}\n" for location in INGEST_LOCATIONS
    )
    return f"""\
# Rendered by error-tracking.
user nginx;
worker_processes auto;

error_log /var/log/nginx/error.log warn;
pid /var/run/nginx.pid;

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

	# Drop a client's "Connection: close" so upstream keepalive connections are reused.
	proxy_set_header Connection '';
	proxy_set_header Host $host;
	proxy_set_header X-Forwarded-For $remote_addr;
	proxy_set_header X-Forwarded-Proto {proto};
	proxy_set_header X-Request-Id $request_id;
	proxy_read_timeout 90s;
	proxy_send_timeout 5s;

	upstream relay {{
		server {ctx.hosts.relay}:3000;
		keepalive 2;
	}}

	upstream sentry {{
		server {ctx.hosts.web}:9000;
		keepalive 2;
	}}

	server {{
		listen 80;

{ingest}\t\tlocation ^~ /js-sdk/ {{
			root /var/www/;
			add_header Access-Control-Allow-Origin *;
		}}
		location / {{
			proxy_pass http://sentry;
		}}
		location /_assets/ {{
			proxy_pass http://sentry/_static/dist/sentry/;
			proxy_hide_header Content-Disposition;
		}}
		location /_static/ {{
			proxy_pass http://sentry;
			proxy_hide_header Content-Disposition;
		}}
	}}
}}
"""
