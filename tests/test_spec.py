"""The environment file: what it may hold, how a bad one is reported, and the input hash."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from conda_vendor_plugin.errors import SpecError, UsageError
from conda_vendor_plugin.spec import (
    HASH_SCHEME,
    EnvironmentSpec,
    canonical_form,
    input_hash,
    load_spec,
)


def spec_from(tmp_path: Path, text: str, name: str = "environment.yml") -> EnvironmentSpec:
    path = tmp_path / name
    path.write_text(text)
    return load_spec(path)


def error_for(tmp_path: Path, text: str, name: str = "environment.yml") -> str:
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(SpecError) as info:
        load_spec(path)
    message = str(info.value)
    assert "\n" not in message, "errors about the environment file are one line"
    assert message.startswith(str(path)), "errors name the file first"
    return message


# ------------------------------------------------------------------ parsing


FULL = """\
name: analysis
channels:
  - conda-forge
  - https://repo.example.com/internal
  - nodefaults
dependencies:
  - python  3.11.*
  - numpy >=1.26
  - pip
  - pip:
      - requests==2.32.3
      - "-e ."
variables:
  MPLBACKEND: Agg
  EMPTY:
platforms:
  - osx-arm64
  - linux-64
"""


def test_every_section_is_read(tmp_path: Path) -> None:
    spec = spec_from(tmp_path, FULL)
    assert spec.name == "analysis"
    assert spec.channels == ("conda-forge", "https://repo.example.com/internal", "nodefaults")
    assert spec.dependencies == ("python  3.11.*", "numpy >=1.26", "pip")
    assert spec.pip == ("requests==2.32.3", "-e .")
    assert spec.variables == (("MPLBACKEND", "Agg"), ("EMPTY", ""))
    assert spec.platforms == ("osx-arm64", "linux-64")
    assert spec.path == tmp_path / "environment.yml"
    assert spec.source == str(tmp_path / "environment.yml")


def test_optional_sections_default_to_empty(tmp_path: Path) -> None:
    spec = spec_from(tmp_path, "dependencies:\n  - zlib\n")
    assert spec == EnvironmentSpec(dependencies=("zlib",))
    assert (spec.name, spec.channels, spec.pip, spec.variables, spec.platforms) == (
        None,
        (),
        (),
        (),
        (),
    )


def test_entries_are_stripped_and_flow_style_is_accepted(tmp_path: Path) -> None:
    spec = spec_from(tmp_path, "channels: [' a ', b]\ndependencies: ['  zlib  ', \"x >=1\"]\n")
    assert spec.channels == ("a", "b")
    assert spec.dependencies == ("zlib", "x >=1")


def test_several_pip_lists_are_joined(tmp_path: Path) -> None:
    text = "dependencies:\n  - pip:\n    - a\n  - zlib\n  - pip:\n    - b\n"
    spec = spec_from(tmp_path, text)
    assert spec.dependencies == ("zlib",)
    assert spec.pip == ("a", "b")


def test_duplicate_platforms_are_dropped_keeping_order(tmp_path: Path) -> None:
    spec = spec_from(tmp_path, "dependencies: [x]\nplatforms: [win-64, linux-64, win-64]\n")
    assert spec.platforms == ("win-64", "linux-64")


def test_with_platforms_replaces_the_platforms_only(tmp_path: Path) -> None:
    spec = spec_from(tmp_path, FULL)
    other = spec.with_platforms(["linux-aarch64", "linux-aarch64", "win-64"])
    assert other.platforms == ("linux-aarch64", "win-64")
    assert (other.name, other.channels, other.dependencies, other.pip, other.variables) == (
        spec.name,
        spec.channels,
        spec.dependencies,
        spec.pip,
        spec.variables,
    )
    for bad in ("noarch", "linux-86"):  # a usage error (exit 2): it comes from -p
        with pytest.raises(UsageError, match=f"--platform: '{bad}' is not a platform conda knows"):
            spec.with_platforms([bad])


SHARED_ENVIRONMENTS = {
    "conda-lock-zlib.environment.yml": dict(
        channels=("conda-forge", "defaults"), dependencies=("zlib",)
    ),
    "conda-lockfiles-metadata.environment.yaml": dict(
        channels=("conda-forge",),
        dependencies=("libsqlite",),
        platforms=("osx-arm64", "osx-64", "linux-64", "win-64"),
    ),
    "rattler-variables.environment.yaml": dict(
        name="test",
        channels=("conda-forge",),
        dependencies=("numpy",),
        variables=(("MY_ENV_VAR", "My Value"),),
    ),
    "rattler-channel_inversion.environment.yaml": dict(
        channels=("rapidsai", "nvidia", "conda-forge"),
        dependencies=("cudf", "conda-forge::cuda-python"),
    ),
}


@pytest.mark.parametrize("filename", sorted(SHARED_ENVIRONMENTS))
def test_shared_environment_files_parse_as_expected(shared_testdata: Path, filename: str) -> None:
    spec = load_spec(shared_testdata / "environments" / filename)
    expected = EnvironmentSpec(**SHARED_ENVIRONMENTS[filename])
    assert spec == expected


def test_every_shared_environment_file_parses(shared_testdata: Path) -> None:
    files = sorted((shared_testdata / "environments").iterdir())
    assert len(files) >= 7
    for path in files:
        spec = load_spec(path)
        assert spec.dependencies, path
        assert len(input_hash(spec)) == 64


def test_shared_pip_sections_and_extra_keys(shared_testdata: Path) -> None:
    envs = shared_testdata / "environments"
    vqgan = load_spec(envs / "rattler-asymmetric_vqgan.environment.yaml")
    assert vqgan.channels == ("pytorch", "defaults")
    assert "pytorch=1.7.0" in vqgan.dependencies
    assert len(vqgan.pip) == 19
    assert vqgan.pip[-1] == "-e ."
    assert "-e git+https://github.com/openai/CLIP.git@main#egg=clip" in vqgan.pip

    # conda-lock's environment has an extra top-level key (category): ignored.
    dev = load_spec(envs / "rattler-conda_lock_dev.environment.yaml")
    assert dev.name == "conda-lock-dev"
    assert dev.channels == ("conda-forge", "nodefaults")
    assert dev.pip == ("types-click-default-group",)
    assert len(dev.dependencies) == 32


# ------------------------------------------------------------------ errors


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.yml"
    with pytest.raises(SpecError) as info:
        load_spec(path)
    assert str(info.value) == f"{path}: no such environment file; pass one with -f/--file"


def test_a_directory_is_not_an_environment_file(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="cannot read the environment file"):
        load_spec(tmp_path)


def test_undecodable_file(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yml"
    path.write_bytes(b"name: caf\xe9\ndependencies: [x]\n")
    with pytest.raises(SpecError, match=r"latin1\.yml: cannot read the environment file"):
        load_spec(path)


@pytest.mark.parametrize(
    ("text", "line", "column"),
    [
        # a list item indented less than its siblings
        ("channels:\n  - a\ndependencies:\n  - numpy\n - scipy\n", 5, 2),
        # an unclosed flow sequence
        ("channels: [a\ndependencies: [b]\n", 2, 13),
        # an unterminated quoted scalar
        ('dependencies:\n  - "numpy\n', 3, 1),
        # a tab where indentation is expected
        ("dependencies:\n\t- numpy\n", 2, 1),
        # the same key twice
        ("channels: [a]\nchannels: [b]\ndependencies: [x]\n", 2, 1),
    ],
    ids=["indentation", "unclosed-flow", "unterminated-quote", "tab", "duplicate-key"],
)
def test_yaml_syntax_errors_name_file_line_and_column(
    tmp_path: Path, text: str, line: int, column: int
) -> None:
    message = error_for(tmp_path, text)
    assert f"(line {line}, column {column}): invalid YAML: " in message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "channels: [a]\ndependencies: numpy\n",
            "(line 2, column 1): 'dependencies' must be a list",
        ),
        (
            "channels: conda-forge\ndependencies: [x]\n",
            "(line 1, column 1): 'channels' must be a list",
        ),
        (
            "channels:\n  - a\n  - {x: 1}\ndependencies: [x]\n",
            "(line 3, column 5): 'channels' entry 2 must be a non-empty string, got {'x': 1}",
        ),
        (
            "dependencies:\n  - numpy\n  - {conda: x}\n",
            "(line 3, column 5): dependency 2 must be a match spec string or a 'pip:' list",
        ),
        (
            "dependencies:\n  - numpy\n  - 3.8\n",
            "(line 3, column 5): dependency 2 must be a match spec string or a 'pip:' list, "
            "got 3.8",
        ),
        (
            "dependencies:\n  - ''\n",
            "(line 2, column 5): dependency 1 must be a match spec string",
        ),
        (
            "dependencies:\n  - pip:\n      - requests\n      - [x]\n",
            "(line 4, column 9): 'pip' entry 2 must be a non-empty string, got ['x']",
        ),
        (
            "dependencies:\n  - pip: requests\n",
            "(line 2, column 5): 'pip' must be a list",
        ),
        (
            "dependencies: [x]\nplatforms:\n  - linux-64\n  - Linux 64\n",
            "(line 4, column 5): 'Linux 64' is not a platform conda knows; use one of",
        ),
        (
            "dependencies: [x]\nplatforms: [noarch]\n",
            "(line 2, column 13): 'noarch' is not a platform conda knows",
        ),
        (
            "dependencies: [x]\nplatforms: linux-64\n",
            "(line 2, column 1): 'platforms' must be a list",
        ),
        ("name: [x]\ndependencies: [x]\n", "(line 1, column 1): 'name' must be a string"),
        (
            "dependencies: [x]\nvariables: [a]\n",
            "(line 2, column 1): 'variables' must be a mapping",
        ),
    ],
    ids=[
        "deps-not-list",
        "channels-not-list",
        "channel-entry",
        "dep-mapping",
        "dep-number",
        "dep-empty",
        "pip-entry",
        "pip-not-list",
        "platform",
        "noarch",
        "platforms-not-list",
        "name",
        "variables",
    ],
)
def test_bad_shapes_name_file_line_and_column(tmp_path: Path, text: str, expected: str) -> None:
    message = error_for(tmp_path, text)
    assert expected in message
    assert message.startswith(f"{tmp_path / 'environment.yml'} (line ")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", ": the environment file is empty"),
        ("# only a comment\n", ": the environment file is empty"),
        ("- a\n- b\n", ": the top level must be a mapping with 'channels' and 'dependencies'"),
        ("just a string\n", ": the top level must be a mapping"),
        ("channels: [a]\n", ": no 'dependencies' list; add the packages to lock under it"),
    ],
    ids=["empty", "comment-only", "list", "scalar", "no-dependencies"],
)
def test_bad_documents_name_the_file(tmp_path: Path, text: str, expected: str) -> None:
    assert error_for(tmp_path, text).startswith(f"{tmp_path / 'environment.yml'}{expected}")


# ------------------------------------------------------------------ input hash


def base_spec(**changes: object) -> EnvironmentSpec:
    fields: dict = dict(
        name="env",
        channels=("conda-forge", "bioconda"),
        dependencies=("python 3.11.*", "numpy >=1.26", "pandas"),
        pip=("requests==2.32.3", "rich"),
        variables=(("A", "1"),),
        platforms=("linux-64", "osx-arm64"),
    )
    fields.update(changes)
    return EnvironmentSpec(**fields)


def test_hash_is_sha256_of_the_documented_canonical_json() -> None:
    spec = base_spec()
    doc = canonical_form(spec)
    assert doc == {
        "scheme": HASH_SCHEME,
        "channels": ["conda-forge", "bioconda"],
        "dependencies": ["numpy >=1.26", "pandas", "python 3.11.*"],
        "pip": ["requests==2.32.3", "rich"],
        "platforms": ["linux-64", "osx-arm64"],
    }
    raw = json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()
    assert input_hash(spec) == hashlib.sha256(raw).hexdigest()


def test_worked_example_of_the_documentation(tmp_path: Path) -> None:
    """docs/input-hash.md: the example file and its published hashes."""
    text = """\
name: analysis
channels:
  - conda-forge
  - https://user:secret@repo.example.com/t/abc123/internal
  - nodefaults
dependencies:
  - python  3.11.*
  - numpy >=1.26
  - pandas
  - pip
  - pip:
      - requests==2.32.3
      - rich
variables:
  MPLBACKEND: Agg
platforms:
  - osx-arm64
  - linux-64
"""
    spec = spec_from(tmp_path, text)
    assert input_hash(spec) == "3d861c4220839777d670395fb06354398e0f90a89d266eb1e551a3a03a35d423"
    assert (
        input_hash(spec.with_platforms(["linux-64"]))
        == "73fdd543d562be394b066ded1a942851a70019cc4a1f38c1b13657f6f59548a1"
    )


def test_dependency_order_does_not_change_the_hash() -> None:
    a = base_spec(dependencies=("python 3.11.*", "numpy >=1.26", "pandas"))
    b = base_spec(dependencies=("pandas", "python 3.11.*", "numpy >=1.26"))
    assert input_hash(a) == input_hash(b)


def test_pip_order_does_not_change_the_hash() -> None:
    assert input_hash(base_spec(pip=("a", "b"))) == input_hash(base_spec(pip=("b", "a")))


def test_channel_order_changes_the_hash() -> None:
    a = base_spec(channels=("conda-forge", "bioconda"))
    b = base_spec(channels=("bioconda", "conda-forge"))
    assert input_hash(a) != input_hash(b)


def test_whitespace_inside_an_entry_is_folded() -> None:
    a = base_spec(dependencies=("python 3.11.*", "numpy >=1.26"))
    b = base_spec(dependencies=("python   3.11.*", "numpy \t >=1.26"))
    assert input_hash(a) == input_hash(b)
    assert input_hash(base_spec(pip=("a  ==1",))) == input_hash(base_spec(pip=("a ==1",)))


def test_whitespace_is_folded_not_removed() -> None:
    """Matching is textual: 'numpy>=1.26' and 'numpy >=1.26' are different requests."""
    a = base_spec(dependencies=("numpy>=1.26",))
    b = base_spec(dependencies=("numpy >=1.26",))
    assert input_hash(a) != input_hash(b)


def test_whitespace_in_the_file_does_not_change_the_hash(tmp_path: Path) -> None:
    a = spec_from(tmp_path, "channels: [c]\ndependencies:\n  - numpy   >=1\n", "a.yml")
    b = spec_from(tmp_path, "channels:\n    - c\ndependencies: ['  numpy >=1  ']\n", "b.yml")
    assert input_hash(a) == input_hash(b)


def test_platform_order_and_duplicates_do_not_change_the_hash() -> None:
    a = base_spec(platforms=("linux-64", "osx-arm64"))
    b = base_spec(platforms=("osx-arm64", "linux-64", "osx-arm64"))
    assert input_hash(a) == input_hash(b)


def test_platforms_are_hashed() -> None:
    assert input_hash(base_spec(platforms=("linux-64",))) != input_hash(
        base_spec(platforms=("linux-64", "win-64"))
    )


@pytest.mark.parametrize(
    "with_credentials",
    [
        "https://user:secret@repo.example.com/internal",
        "https://repo.example.com/t/tk-0123456789/internal",
        "https://user:secret@repo.example.com/t/abc/internal",
        "https://token@repo.example.com/internal",
    ],
)
def test_credentials_in_channel_urls_do_not_change_the_hash(with_credentials: str) -> None:
    clean = base_spec(channels=("https://repo.example.com/internal", "conda-forge"))
    secret = base_spec(channels=(with_credentials, "conda-forge"))
    assert input_hash(secret) == input_hash(clean)
    assert "secret" not in json.dumps(canonical_form(secret))


def test_name_and_variables_are_not_hashed() -> None:
    a = base_spec(name="one", variables=(("A", "1"),))
    b = base_spec(name=None, variables=(("B", "2"), ("C", "")))
    assert input_hash(a) == input_hash(b)


def test_the_file_path_and_comments_are_not_hashed(tmp_path: Path) -> None:
    a = spec_from(tmp_path, "# hello\nname: x\ndependencies: [zlib]\n", "a.yml")
    b = spec_from(tmp_path, "dependencies:\n  - zlib  # the only one\n", "b.yaml")
    assert input_hash(a) == input_hash(b)


@pytest.mark.parametrize(
    "change",
    [
        dict(dependencies=("python 3.11.*", "numpy >=1.26", "pandas", "scipy")),
        dict(dependencies=("python 3.12.*", "numpy >=1.26", "pandas")),
        dict(pip=("requests==2.32.4", "rich")),
        dict(channels=("conda-forge",)),
        dict(channels=("conda-forge", "bioconda", "nodefaults")),
    ],
    ids=["added-dependency", "changed-pin", "pip", "removed-channel", "added-channel"],
)
def test_what_decides_the_solve_changes_the_hash(change: dict) -> None:
    assert input_hash(base_spec(**change)) != input_hash(base_spec())


def test_conda_and_pip_entries_are_not_interchangeable() -> None:
    a = base_spec(dependencies=("x",), pip=("y",))
    b = base_spec(dependencies=("y",), pip=("x",))
    assert input_hash(a) != input_hash(b)
