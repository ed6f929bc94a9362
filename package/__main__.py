"""The package's plugin: `pulumi package add <repository>/package` and every deployment of a consumer
run it (Python, PulumiPlugin.yaml) to host ErrorTracking. The component is the repository's own
`components` package, imported from the directory above: there is no second copy. It serves
components.package.Provider rather than pulumi's component_provider_host, whose provider would
wrap a refused argument in a traceback."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pulumi.provider import main  # noqa: E402

from components.package import Provider  # noqa: E402

if __name__ == "__main__":
    main(Provider(), sys.argv[1:])
