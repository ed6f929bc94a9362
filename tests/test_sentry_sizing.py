"""Memory defaults per Sentry service: within upstream's host minimums, above their floors."""

from __future__ import annotations

import pytest

from components.apps.sentry import catalog, sizing


@pytest.mark.parametrize("profile", catalog.PROFILES)
def test_defaults_fit_upstreams_host_minimum(profile):
    limits = sizing.resources(profile)
    assert set(limits) == set(catalog.service_names(profile))
    # The backups, drills, off-site copy and watchdog run beside them, within the same host.
    assert sum(r.memory_mb for r in limits.values()) <= sizing.HOST_MEMORY_MB[profile] - sizing.OPERATIONS_MB


@pytest.mark.parametrize("profile", catalog.PROFILES)
def test_every_default_is_above_its_documented_floor(profile):
    for name, size in sizing.defaults(profile).items():
        assert 0 < size.floor_mb <= sizing.resources(profile)[name].memory_mb, name
        assert size.source.strip(), name


def test_host_minimums_are_upstreams():
    assert sizing.HOST_MEMORY_MB == {catalog.ERRORS_ONLY: 7000, catalog.FEATURE_COMPLETE: 14000}


def test_taskworker_default_follows_its_concurrency():
    assert sizing.defaults(catalog.ERRORS_ONLY)["taskworker"].memory_mb == sizing.taskworker_memory_mb(4)
    assert sizing.resources(catalog.ERRORS_ONLY, {}, 8)["taskworker"].memory_mb == sizing.taskworker_memory_mb(8)
    assert sizing.taskworker_memory_mb(8) > sizing.taskworker_memory_mb(4)
    assert sizing.floor_mb(catalog.ERRORS_ONLY, "taskworker", 8) > sizing.floor_mb(catalog.ERRORS_ONLY, "taskworker", 1)


@pytest.mark.parametrize("limit", [512, 640, 1024, 4096])
def test_kafka_heap_leaves_room_for_the_jvm(limit):
    heap = sizing.kafka_heap_mb(limit)
    assert heap <= limit // 2 and heap >= 128


@pytest.mark.parametrize("limit", [768, 896, 2048, 8192])
def test_clickhouse_ratio_leaves_untracked_room(limit):
    ratio = sizing.clickhouse_max_memory_ratio(limit)
    assert 0.5 <= ratio <= 0.9
    assert ratio * limit <= limit - min(sizing.CLICKHOUSE_UNTRACKED_MB, limit // 10)


def test_floors_keep_self_capping_processes_workable():
    for profile in catalog.PROFILES:
        floors = sizing.defaults(profile)
        assert sizing.kafka_heap_mb(floors["kafka"].floor_mb) >= 256
        assert sizing.clickhouse_max_memory_ratio(floors["clickhouse"].floor_mb) * floors["clickhouse"].floor_mb >= 512
        # memcached keeps its default 64 MB of items.
        assert floors["memcached"].floor_mb >= 64 + 16


def test_overrides_replace_defaults():
    from components.spec import Resources

    limits = sizing.resources(catalog.ERRORS_ONLY, {"web": Resources(2048, 2.0)})
    assert limits["web"] == Resources(2048, 2.0)
    assert limits["relay"] == sizing.resources(catalog.ERRORS_ONLY)["relay"]
