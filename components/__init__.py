"""error-tracking: GlitchTip or self-hosted Sentry, on Docker or Kubernetes, with DSNs delivered."""
