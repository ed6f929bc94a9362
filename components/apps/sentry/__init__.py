"""Self-hosted Sentry: reserved; its services are described in a later issue."""

from components.plugins import Plugin
from components.validation import Problems, Section


def _parse_settings(section: Section, problems: Problems) -> None:
    # Nothing is read yet, so any key given is reported as unknown rather than ignored.
    section.finish()
    return None


PLUGIN = Plugin(
    parse_settings=_parse_settings,
    unsupported="sentry is not supported yet; use app: glitchtip",
)
