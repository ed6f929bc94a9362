"""error-tracking: GlitchTip or self-hosted Sentry on Docker or Kubernetes, as a Pulumi program.

Layers, each importing only from those below (.importlinter, checked by CI): program ->
configuration | stack -> apps -> settings : operations -> platforms -> plugins, deploy_check,
stores, dsn -> spec | validation | secrets. Apps and platforms meet only through spec.AppSpec and
the registries (plugins.Registry in apps/ and platforms/).
"""
