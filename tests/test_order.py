"""Install order: each package after the packages it depends on, the same for any input order."""

from __future__ import annotations

import itertools
import json
import random
from pathlib import Path

import pytest

from conda_vendor_plugin.records import LockedPackage
from conda_vendor_plugin.solve.order import dependency_name, install_order, is_install_ordered


def P(name: str, *depends: str) -> LockedPackage:
    return LockedPackage(
        name=name,
        version="1.0",
        build="0",
        subdir="noarch",
        channel="https://repo.example.com/c",
        fn=f"{name}-1.0-0.conda",
        url=f"https://repo.example.com/c/noarch/{name}-1.0-0.conda",
        depends=depends,
    )


def names(packages: list[LockedPackage]) -> list[str]:
    return [p.name for p in packages]


def _reaches(graph: dict[str, set[str]], start: str, goal: str) -> bool:
    seen, stack = set(), [start]
    while stack:
        n = stack.pop()
        if n == goal:
            return True
        if n not in seen:
            seen.add(n)
            stack.extend(graph.get(n, ()))
    return False


def assert_dependencies_first(packages: list[LockedPackage]) -> None:
    """Every dependency comes first unless the two packages depend on each other (a cycle)."""
    graph = {p.name: {dependency_name(d) for d in p.depends} for p in packages}
    position = {p.name: i for i, p in enumerate(packages)}
    for p in packages:
        for d in graph[p.name]:
            if d in position and d != p.name and position[d] > position[p.name]:
                assert _reaches(graph, d, p.name), f"{p.name} placed before its dependency {d}"


# ------------------------------------------------------------------ match spec names


@pytest.mark.parametrize(
    ("spec", "name"),
    [
        ("numpy", "numpy"),
        ("numpy >=1.2", "numpy"),
        ("numpy>=1.2,<2", "numpy"),
        ("numpy==1.2", "numpy"),
        ("numpy=1.2=py311_0", "numpy"),
        ("numpy!=1.3", "numpy"),
        ("numpy~=1.2", "numpy"),
        ("numpy<2", "numpy"),
        ("numpy[version='>=1.2']", "numpy"),
        ("conda-forge::numpy >=1.2", "numpy"),
        ("python_abi 3.11.* *_cp311", "python_abi"),
        ("NumPy 1.2", "numpy"),
        ("  libgcc-ng   >=7.3.0  ", "libgcc-ng"),
        ("", ""),
    ],
)
def test_dependency_name(spec: str, name: str) -> None:
    assert dependency_name(spec) == name


# ------------------------------------------------------------------ order


def test_dependencies_come_before_dependents() -> None:
    pkgs = [P("app", "lib >=1", "python 3.11.*"), P("python", "libc"), P("lib", "libc"), P("libc")]
    order = install_order(pkgs)
    assert names(order) == ["libc", "lib", "python", "app"]
    assert is_install_ordered(order)


def test_smallest_name_first_among_ready_packages() -> None:
    pkgs = [P("zeta"), P("alpha"), P("mid", "zeta"), P("beta")]
    assert names(install_order(pkgs)) == ["alpha", "beta", "zeta", "mid"]


def test_names_compare_case_insensitively_and_keep_their_spelling() -> None:
    pkgs = [P("Zlib"), P("app", "zlib"), P("Brotli")]
    assert names(install_order(pkgs)) == ["Brotli", "Zlib", "app"]


def test_dependencies_outside_the_set_are_ignored() -> None:
    """Virtual packages and dependencies that were not solved do not block anything."""
    pkgs = [P("b", "__glibc >=2.17", "a"), P("a", "__unix", "missing >=1")]
    assert names(install_order(pkgs)) == ["a", "b"]


def test_a_package_depending_on_itself_is_not_a_cycle() -> None:
    assert names(install_order([P("b", "b"), P("a", "b")])) == ["b", "a"]


def test_empty() -> None:
    assert install_order([]) == []
    assert is_install_ordered([])


DIAMOND = [P("top", "left", "right"), P("left", "base"), P("right", "base"), P("base")]


@pytest.mark.parametrize("perm", list(itertools.permutations(range(len(DIAMOND)))))
def test_order_depends_only_on_the_set(perm: tuple[int, ...]) -> None:
    assert names(install_order([DIAMOND[i] for i in perm])) == ["base", "left", "right", "top"]


def test_works_on_a_generator() -> None:
    assert names(install_order(p for p in DIAMOND)) == ["base", "left", "right", "top"]


# ------------------------------------------------------------------ cycles


def test_a_two_cycle_is_broken_at_its_smallest_name() -> None:
    for pkgs in ([P("b", "a"), P("a", "b")], [P("a", "b"), P("b", "a")]):
        assert names(install_order(pkgs)) == ["a", "b"]


def test_a_cycle_is_broken_only_after_what_it_needs() -> None:
    # The cycle c <-> d also needs zbase; app needs c. When the cycle is reached, 'app'
    # is the smallest unplaced name, but it waits for the cycle: c is placed, not app.
    pkgs = [P("c", "d", "zbase"), P("d", "c"), P("zbase"), P("app", "c")]
    order = install_order(pkgs)
    assert names(order) == ["zbase", "c", "app", "d"]
    assert is_install_ordered(order)


def test_a_package_waiting_on_a_cycle_is_not_taken_for_part_of_it() -> None:
    """'a' depends on the cycle b <-> c: the cycle is broken, not a's dependency on it."""
    pkgs = [P("a", "b"), P("b", "c"), P("c", "b")]
    order = install_order(pkgs)
    assert names(order) == ["b", "a", "c"]  # once b is placed, a and c are ready: a first
    assert is_install_ordered(order)
    assert_dependencies_first(order)


def test_the_cycle_that_waits_for_nothing_is_broken_first() -> None:
    # {b, c} waits for d, which waits for the cycle {e, f}: e/f must be broken first,
    # so that everything b and c need (apart from each other) is placed before them.
    pkgs = [P("b", "c"), P("c", "b", "d"), P("d", "e"), P("e", "f"), P("f", "e")]
    order = install_order(pkgs)
    assert names(order) == ["e", "d", "f", "b", "c"]
    assert_dependencies_first(order)


def test_python_goes_before_pip_as_in_conda() -> None:
    """conda adds pip to python's depends (add_pip_as_python_dependency); pip needs python."""
    pkgs = [P("pip", "python >=3.9"), P("python", "libc", "pip"), P("libc"), P("app", "pip")]
    assert names(install_order(pkgs)) == ["libc", "python", "pip", "app"]
    # any other two-package cycle is still broken at the smallest name
    assert names(install_order([P("pjp", "qython"), P("qython", "pjp")])) == ["pjp", "qython"]


def test_long_cycle_and_many_cycles() -> None:
    ring = [P(f"r{i}", f"r{(i + 1) % 5}") for i in range(5)]
    pairs = [P("x1", "x2"), P("x2", "x1"), P("y1", "y2", "x1"), P("y2", "y1")]
    order = install_order(ring + pairs + [P("top", "r3", "y2")])
    assert names(order)[-1] == "top"
    assert names(order).index("x2") < names(order).index("y1")
    assert_dependencies_first(order)


@pytest.mark.parametrize("seed", range(40))
def test_random_graphs_with_cycles(seed: int) -> None:
    """Dependencies first except along cycles, and the same order for any input order."""
    rng = random.Random(seed)
    count = rng.randint(2, 30)
    pool = [f"p{i:02d}" for i in range(count)]
    pkgs = [
        P(n, *rng.sample(pool, rng.randint(0, min(4, count))))
        for n in pool  # self-dependencies included on purpose
    ]
    order = install_order(pkgs)
    assert sorted(names(order)) == pool
    assert_dependencies_first(order)
    assert is_install_ordered(order)
    for _ in range(3):
        shuffled = pkgs[:]
        rng.shuffle(shuffled)
        assert names(install_order(shuffled)) == names(order)


def test_is_install_ordered_detects_a_dependent_first() -> None:
    assert not is_install_ordered([P("app", "lib"), P("lib")])
    assert is_install_ordered([P("lib"), P("app", "lib")])
    assert is_install_ordered([P("b", "a"), P("a", "b")]), "cycles are excepted"


def test_real_channel_dependencies(shared_testdata: Path) -> None:
    """The conda-test-recipes noarch repodata: chains such as another_dependent -> dependent."""
    repodata = json.loads(
        (shared_testdata / "channels/conda-test-recipes/noarch/repodata.json").read_text()
    )
    latest: dict[str, dict] = {}
    for entry in repodata["packages.conda"].values():
        latest[entry["name"]] = entry  # one record per name is all an environment has
    pkgs = [P(e["name"], *e.get("depends", [])) for e in latest.values()]
    order = install_order(pkgs)
    assert_dependencies_first(order)
    pos = {p.name: i for i, p in enumerate(order)}
    assert pos["dependency"] < pos["dependent"] < pos["another_dependent"]
    assert pos["post_link-e"] < pos["post_link-d"]
    assert pos["python"] < pos["sample_noarch_python"]
