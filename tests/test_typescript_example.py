"""examples/typescript-app type-checks against the package as its generated SDK would declare it.

The SDK itself cannot be generated here: `pulumi package add` needs the Pulumi CLI, which this
repository's CI does not have. So the declaration of `@pulumi/error-tracking` is derived here
from the package's schema, following what Pulumi's Node.js generator writes (pulumi/pulumi,
pkg/codegen/nodejs: a component class with `pulumi.Output` properties, an `<Name>Args` interface
of optional `pulumi.Input`s, object types as `types.input.<Type>Args` interfaces, maps as
`{[key: string]: ...}`): it cannot drift from the schema, and the example is compiled against it
with TypeScript's own compiler in strict mode.

The compiler and the Pulumi SDKs' type declarations come from npm, which CI does not reach at
run time: the test runs where they are installed in ERROR_TRACKING_TS_TOOLS (default
~/.cache/error-tracking/ts-tools) and is skipped elsewhere, saying how to install them.
The declaration itself is checked without them.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from components.package import NAME, Provider
from components.stack import TYPE

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "typescript-app"
SCHEMA = json.loads(Provider().schema)
MODULE = f"@pulumi/{NAME}"  # no namespace in the schema: the Node.js generator's default name
INSTALL = ("npm install --prefix ~/.cache/error-tracking/ts-tools typescript@5 @types/node@20 @pulumi/pulumi@3 "
           "@pulumi/kubernetes@4")


def tools() -> Path:
    default = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "error-tracking" / "ts-tools"
    return Path(os.environ.get("ERROR_TRACKING_TS_TOOLS", default)) / "node_modules"


def ts_type(prop: dict[str, Any], *, output: bool = False) -> str:
    """A schema property's TypeScript type, as the Node.js generator writes it."""
    ref = prop.get("$ref", "")
    if ref == "pulumi.json#/Any":
        return "any"
    if ref.startswith("#/types/"):
        name = ref.rsplit(":", 1)[1]
        return f"outputs.{name}" if output else f"pulumi.Input<inputs.{name}Args>"
    kind = prop["type"]
    if kind == "array":
        item = ts_type(prop["items"], output=output)
        return f"{item}[]" if output else f"pulumi.Input<{item}[]>"
    if kind == "object":
        value = ts_type(prop["additionalProperties"], output=output)
        return f"{{[key: string]: {value}}}" if output else f"pulumi.Input<{{[key: string]: {value}}}>"
    scalar = {"string": "string", "integer": "number", "number": "number", "boolean": "boolean"}[kind]
    return scalar if output else f"pulumi.Input<{scalar}>"


def declaration(schema: dict[str, Any]) -> str:
    """index.d.ts of the package's Node.js SDK, from the schema."""
    component = schema["resources"][TYPE]
    name = TYPE.rsplit(":", 1)[1]
    lines = ['import * as pulumi from "@pulumi/pulumi";', "import * as inputs from \"./types/input\";", ""]
    lines.append(f"export declare class {name} extends pulumi.ComponentResource {{")
    for key, prop in component["properties"].items():
        required = key in component.get("required", [])
        value = ts_type(prop, output=True)
        lines.append(f"    readonly {key}: pulumi.Output<{value if required else value + ' | undefined'}>;")
    optional = "?" if not component.get("requiredInputs") else ""
    lines.append(f"    constructor(name: string, args{optional}: {name}Args, opts?: pulumi.ComponentResourceOptions);")
    lines += ["}", f"export interface {name}Args {{"]
    for key, prop in component["inputProperties"].items():
        mark = "" if key in component.get("requiredInputs", []) else "?"
        lines.append(f"    {key}{mark}: {ts_type(prop)};")
    lines += ["}", 'export * as types from "./types";', ""]
    return "\n".join(lines)


def input_types(schema: dict[str, Any]) -> str:
    """types/input.d.ts: every object type as an `<Type>Args` interface of optional inputs."""
    lines = ['import * as pulumi from "@pulumi/pulumi";', 'import * as inputs from "./input";', ""]
    for token, spec in sorted(schema["types"].items()):
        lines.append(f"export interface {token.rsplit(':', 1)[1]}Args {{")
        for key, prop in spec["properties"].items():
            mark = "" if key in spec.get("required", []) else "?"
            lines.append(f"    {key}{mark}: {ts_type(prop)};")
        lines.append("}")
    return "\n".join(lines) + "\n"


def write_sdk(directory: Path) -> None:
    (directory / "types").mkdir(parents=True)
    (directory / "package.json").write_text(json.dumps({"name": MODULE, "version": SCHEMA["version"],
                                                         "types": "index.d.ts"}))
    (directory / "index.d.ts").write_text(declaration(SCHEMA))
    (directory / "types" / "input.d.ts").write_text(input_types(SCHEMA))
    (directory / "types" / "output.d.ts").write_text("export {};\n")
    (directory / "types" / "index.d.ts").write_text(
        'import * as input from "./input";\nimport * as output from "./output";\nexport { input, output };\n')


def test_the_example_imports_the_package_under_the_name_package_add_links():
    package = json.loads((EXAMPLE / "package.json").read_text())
    assert package["dependencies"][MODULE] == f"file:sdks/{NAME}"
    assert f'import * as errorTracking from "{MODULE}";' in (EXAMPLE / "index.ts").read_text()
    import yaml

    project = yaml.safe_load((EXAMPLE / "Pulumi.yaml").read_text())
    assert project["runtime"]["name"] == "nodejs"
    assert (EXAMPLE / project["packages"][NAME] / "PulumiPlugin.yaml").is_file()


def test_the_declaration_has_every_argument_and_output():
    text = declaration(SCHEMA) + input_types(SCHEMA)
    for key in SCHEMA["resources"][TYPE]["inputProperties"]:
        assert f"    {key}?: " in text
    assert "readonly dsns: pulumi.Output<{[key: string]: string}>;" in text
    assert "export interface KubernetesArgs {" in text and "    ingress?: pulumi.Input<inputs.IngressArgs>;" in text


def test_the_example_type_checks_against_the_packages_declaration(tmp_path):
    node_modules = tools()
    tsc = node_modules / "typescript" / "bin" / "tsc"
    needed = [tsc, node_modules / "@pulumi" / "pulumi", node_modules / "@pulumi" / "kubernetes",
              node_modules / "@types" / "node"]
    if not shutil.which("node") or not all(p.exists() for p in needed):
        pytest.skip(f"TypeScript and the Pulumi SDKs' declarations are not in {node_modules} (CI reaches no "
                    f"registry at run time; install them with `{INSTALL}` or set ERROR_TRACKING_TS_TOOLS). The "
                    "package's own SDK cannot be generated without the Pulumi CLI: its declaration is derived "
                    "from the schema here instead.")
    for name in ("index.ts", "tsconfig.json"):
        shutil.copy(EXAMPLE / name, tmp_path / name)
    modules = tmp_path / "node_modules"
    (modules / "@pulumi").mkdir(parents=True)
    (modules / "@types").mkdir()
    for name in ("@pulumi/pulumi", "@pulumi/kubernetes", "@types/node"):
        (modules / name).symlink_to(node_modules / name)
    for name in os.listdir(node_modules):  # the SDKs' own dependencies (@grpc, protobufjs...)
        if not name.startswith(("@pulumi", "@types", ".")) and not (modules / name).exists():
            (modules / name).symlink_to(node_modules / name)
    write_sdk(modules / "@pulumi" / NAME)
    result = subprocess.run(["node", str(tsc), "--noEmit", "-p", str(tmp_path / "tsconfig.json")],
                            capture_output=True, text=True, timeout=240, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
