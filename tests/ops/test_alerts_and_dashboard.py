"""The shipped Prometheus rules, their unit tests, the example Prometheus config and the
Grafana dashboard: valid for the tools that load them, and built only from series that a
real scrape of /metrics carries.

promtool comes from the Debian package `prometheus` (.ci/run installs it when missing).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from django.conf import settings
from prometheus_client.parser import text_string_to_metric_families
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken

from bookings.states import BookingStatus
from tests import factories

DEPLOY = Path(settings.BASE_DIR) / "deploy"
ALERTS = DEPLOY / "prometheus" / "alerts.yml"
ALERT_TESTS = DEPLOY / "prometheus" / "alerts.test.yml"
PROMETHEUS_CONFIG = DEPLOY / "prometheus" / "prometheus.yml"
DASHBOARD = DEPLOY / "grafana" / "parkme.json"

# Series Prometheus itself makes for every target; no application exports them.
PROMETHEUS_OWN = {"up"}
# The views the HTTP rules and panels leave out (scrapes and probes are not users).
NOT_USERS = 'view!~"metrics|health|health-ready"'
MONITORING_VIEWS = {"metrics", "health", "health-ready"}
# What the dashboard must show: every series of issue 16's metric list.
DASHBOARD_MUST_SHOW = {
    "django_http_requests_latency_seconds_by_view_method_bucket",
    "django_http_responses_total_by_status_view_method_total",
    "django_http_requests_total_by_view_transport_method_total",
    "parkme_db_pool_size",
    "parkme_db_pool_max",
    "parkme_db_pool_in_use",
    "parkme_db_pool_waiting",
    "parkme_celery_queue_length",
    "parkme_celery_workers",
    "parkme_beat_heartbeat_timestamp_seconds",
    "parkme_beat_heartbeat_age_seconds",
    "parkme_response_cache_requests_total",
    "parkme_cache_hit_ratio",
    "parkme_redis_keyspace_hits_total",
    "parkme_redis_keyspace_misses_total",
    "parkme_notifications",
    "parkme_notifications_oldest_pending_age_seconds",
    "parkme_webhook_deliveries",
    "parkme_webhook_oldest_pending_age_seconds",
    "parkme_webhook_endpoints_disabled",
    "parkme_replica_lag_seconds",
    "parkme_replica_healthy",
    "parkme_backup_last_success_timestamp_seconds",
    "parkme_backup_last_size_bytes",
    "parkme_backup_age_seconds",
    "parkme_restore_drill_last_success_timestamp_seconds",
    "parkme_restore_drill_last_ok",
    "parkme_restore_drill_age_seconds",
    "parkme_bookings_created_total",
    "parkme_bookings_refused_total",
    "parkme_facility_occupied_spots",
    "parkme_facility_spots",
}
EXPECTED_ALERTS = {
    "ParkMeScrapeDown",
    "ParkMeHigh5xxRate",
    "ParkMeSlowP95",
    "ParkMeQueueBacklog",
    "ParkMeNoWorker",
    "ParkMeBeatStale",
    "ParkMeReplicaLag",
    "ParkMeBackupStale",
    "ParkMeRestoreDrillFailed",
    "ParkMeDbPoolExhausted",
    "ParkMeDbPoolNearlyFull",
    "ParkMeWebhookEndpointDisabled",
    "ParkMeWebhookBacklog",
    "ParkMeNotificationBacklog",
}

# --- PromQL: enough of the grammar to tell metric names from everything else ----------------

PROMQL_WORDS = frozenset(
    # aggregation operators
    "sum min max avg group stddev stdvar count count_values bottomk topk quantile limitk "
    "limit_ratio "
    # functions
    "abs absent absent_over_time ceil changes clamp clamp_max clamp_min day_of_month "
    "day_of_week day_of_year days_in_month delta deriv exp floor histogram_avg "
    "histogram_count histogram_fraction histogram_quantile histogram_stddev histogram_stdvar "
    "histogram_sum holt_winters double_exponential_smoothing hour idelta increase irate "
    "label_join label_replace ln log2 log10 minute month predict_linear rate resets round "
    "scalar sgn sort sort_desc sort_by_label sort_by_label_desc sqrt time timestamp vector "
    "year avg_over_time min_over_time max_over_time sum_over_time count_over_time "
    "quantile_over_time stddev_over_time stdvar_over_time last_over_time present_over_time "
    "mad_over_time acos acosh asin asinh atan atanh cos cosh sin sinh tan tanh deg rad pi "
    # keywords and modifiers
    "by without on ignoring group_left group_right offset bool and or unless atan2 start end "
    "inf nan le".split()
)
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`')
_GROUPING = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")
_IDENTIFIER = re.compile(r"(?<![\w.:$])([A-Za-z_:][\w:]*)(?=\s*(\(?))")


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression selects: not functions, keywords, label names,
    label values, durations or numbers."""
    text = _STRING.sub('""', expr)
    text = re.sub(r"\{[^}]*\}", " ", text)  # label matchers
    text = re.sub(r"\[[^\]]*\]", " ", text)  # ranges and subqueries
    text = _GROUPING.sub(" ", text)
    text = re.sub(r"\boffset\s+-?[\w$]+", " ", text)
    names = set()
    for match in _IDENTIFIER.finditer(text):
        word, call = match.group(1), match.group(2)
        if word.lower() in PROMQL_WORDS or call:
            continue
        names.add(word)
    return names


def test_metric_names_are_told_from_functions_labels_and_numbers():
    expr = (
        'sum by (status_class) (label_replace(rate(a_total{job=~"$job", view!~"x|y"}'
        '[$__rate_interval]), "c", "${1}xx", "status", "(.).."))'
        " / ignoring (le) group_left (pid) histogram_quantile(0.95, sum(rate(b_bucket[5m] "
        "offset 1h)) without (instance)) > 1e3 and on (queue) max by (queue) (c:ratio) * 26 "
        "or absent(d_seconds) unless bool Inf"
    )
    assert metric_names(expr) == {"a_total", "b_bucket", "c:ratio", "d_seconds"}


# --- promtool -----------------------------------------------------------------------------


def promtool() -> str:
    found = shutil.which("promtool")
    if not found and os.access("/usr/bin/promtool", os.X_OK):
        found = "/usr/bin/promtool"
    if not found:
        pytest.skip("promtool not installed (CI installs the Debian package prometheus)")
    return found


def run_promtool(*args: str | Path, cwd: Path | None = None) -> str:
    result = subprocess.run(  # noqa: S603 - our own files, no shell
        [promtool(), *map(str, args)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=cwd,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    return output


def alert_rules() -> list[dict]:
    groups = yaml.safe_load(ALERTS.read_text())["groups"]
    assert [group["name"] for group in groups] == ["parkme"]
    return groups[0]["rules"]


def test_promtool_accepts_the_alert_rules():
    output = run_promtool("check", "rules", ALERTS)
    assert f"SUCCESS: {len(EXPECTED_ALERTS)} rules found" in output


def test_the_alert_rules_pass_their_unit_tests():
    output = run_promtool("test", "rules", ALERT_TESTS.name, cwd=ALERT_TESTS.parent)
    assert "SUCCESS" in output


def test_the_example_prometheus_config_loads_the_rules(tmp_path):
    """promtool checks that the token file exists: point it at one, keep everything else."""
    config = PROMETHEUS_CONFIG.read_text()
    token_file = "/etc/prometheus/parkme_metrics_token"
    assert token_file in config
    (tmp_path / "token").write_text("a-long-random-token\n")
    (tmp_path / "prometheus.yml").write_text(config.replace(token_file, str(tmp_path / "token")))
    shutil.copy(ALERTS, tmp_path / "alerts.yml")
    output = run_promtool("check", "config", tmp_path / "prometheus.yml")
    assert f"SUCCESS: {len(EXPECTED_ALERTS)} rules found" in output
    parsed = yaml.safe_load(config)
    assert parsed["rule_files"] == ["alerts.yml"]
    jobs = [job["job_name"] for job in parsed["scrape_configs"]]
    assert jobs == ["parkme"]  # what ParkMeScrapeDown matches
    assert 'up{job="parkme"}' in ALERTS.read_text()


def test_every_alert_is_tested_both_firing_and_quiet():
    rules = alert_rules()
    assert {rule["alert"] for rule in rules} == EXPECTED_ALERTS
    fired, quiet = set(), set()
    for case in yaml.safe_load(ALERT_TESTS.read_text())["tests"]:
        for check in case["alert_rule_test"]:
            (fired if check.get("exp_alerts") else quiet).add(check["alertname"])
    assert fired == EXPECTED_ALERTS
    assert quiet == EXPECTED_ALERTS


def test_every_alert_says_how_urgent_it_is_and_where_the_runbook_is():
    for rule in alert_rules():
        assert rule["labels"]["severity"] in {"page", "ticket"}, rule["alert"]
        annotations = rule["annotations"]
        assert set(annotations) == {"summary", "description", "runbook"}, rule["alert"]
        assert annotations["runbook"].startswith("README, "), rule["alert"]
        assert "http" not in annotations["runbook"], rule["alert"]


# --- the dashboard --------------------------------------------------------------------------


def dashboard() -> dict:
    return json.loads(DASHBOARD.read_text())


def all_panels(panels: list[dict]) -> Iterator[dict]:
    for panel in panels:
        yield panel
        yield from all_panels(panel.get("panels", []))  # a collapsed row holds its panels


def dashboard_queries() -> list[tuple[str, str]]:
    queries = []
    for panel in all_panels(dashboard()["panels"]):
        for target in panel.get("targets", []):
            queries.append((panel["title"], target["expr"]))
    return queries


def test_the_dashboard_imports_with_its_datasource_as_an_input():
    board = dashboard()
    assert board["schemaVersion"] >= 36
    assert board["uid"]
    assert board["title"]
    assert [i["name"] for i in board["__inputs"]] == ["DS_PROMETHEUS"]
    assert board["__inputs"][0]["pluginId"] == "prometheus"
    variables = {v["name"]: v for v in board["templating"]["list"]}
    assert variables["DS_PROMETHEUS"]["type"] == "datasource"
    assert variables["DS_PROMETHEUS"]["query"] == "prometheus"
    ids = []
    for panel in all_panels(board["panels"]):
        ids.append(panel["id"])
        grid = panel["gridPos"]
        assert grid["x"] >= 0, panel["title"]
        assert grid["x"] + grid["w"] <= 24, panel["title"]
        if panel["type"] == "row":
            continue
        assert panel["targets"], f"panel {panel['title']!r} has no query"
        assert panel["datasource"]["uid"] == "${DS_PROMETHEUS}", panel["title"]
        for target in panel["targets"]:
            assert target["expr"].strip(), panel["title"]
            assert target["datasource"]["uid"] == "${DS_PROMETHEUS}", panel["title"]
    assert len(ids) == len(set(ids)), "panel ids repeat"


def test_every_dashboard_query_is_valid_promql(tmp_path):
    """promtool has no query parser of its own; a recording rule per query gets one."""
    grafana_variables = {"$__rate_interval": "5m", "$__range": "6h", "$__interval": "1m"}
    rules = []
    for n, (_, expr) in enumerate(dashboard_queries()):
        for variable, value in grafana_variables.items():
            expr = expr.replace(variable, value)
        rules.append({"record": f"dashboard:query_{n}", "expr": expr.replace("$job", ".*")})
    path = tmp_path / "dashboard_rules.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}))
    output = run_promtool("check", "rules", path)
    assert f"SUCCESS: {len(rules)} rules found" in output


def test_the_dashboard_shows_every_parkme_series():
    used = set().union(*(metric_names(expr) for _, expr in dashboard_queries()))
    assert DASHBOARD_MUST_SHOW - used == set()


# --- the real scrape ----------------------------------------------------------------------


def _api_client_for(user) -> APIClient:
    client = APIClient()
    token = RefreshToken.for_user(user).access_token
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def _series_after_real_traffic(client) -> tuple[set[str], set[str]]:
    """Use the platform as users and operators do, then scrape /metrics as Prometheus would.
    Returns the sample names and the `view` labels of the HTTP series."""
    from datetime import timedelta

    from django.utils import timezone

    facility = factories.FacilityFactory(name="Scrape Garage", slug="scrape-garage")
    factories.RateVersionFactory(facility=facility)
    spot = factories.SpotFactory(zone=factories.ZoneFactory(facility=facility), code="S1")
    driver = factories.UserFactory(email=f"driver-{uuid.uuid4().hex[:6]}@example.test")
    car = factories.VehicleFactory(owner=driver, plate="SCR-1")
    van = factories.VehicleFactory(owner=driver, plate="SCR-2")
    # Somebody is parked there now (occupancy).
    factories.BookingFactory(
        spot=spot,
        status=BookingStatus.ACTIVE,
        starts_at=timezone.now() - timedelta(hours=1),
        ends_at=timezone.now() + timedelta(minutes=30),
    )

    api = _api_client_for(driver)
    start = (timezone.now() + timedelta(days=2)).replace(hour=9, minute=0, second=0, microsecond=0)
    body = {
        "facility": facility.id,
        "starts_at": start.isoformat(),
        "ends_at": (start + timedelta(hours=2)).isoformat(),
    }
    assert (
        api.post("/api/v1/bookings/", {**body, "vehicle": car.id}, format="json").status_code == 201
    )
    # The garage's only spot is taken for that window: refused, and counted by reason.
    assert (
        api.post("/api/v1/bookings/", {**body, "vehicle": van.id}, format="json").status_code == 409
    )
    for _ in range(2):  # a response-cache miss, then a hit
        assert client.get("/api/v1/facilities/").status_code == 200
    assert client.get("/api/v1/no-such-thing/").status_code == 404
    assert client.get("/health/").status_code == 200
    client.get("/health/ready/")  # also measures the replicas' lag
    client.get("/metrics", REMOTE_ADDR="127.0.0.1")  # the scrape is itself an HTTP request

    response = client.get("/metrics", REMOTE_ADDR="127.0.0.1")
    assert response.status_code == 200
    names, views = set(), set()
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            names.add(sample.name)
            if sample.name == "django_http_responses_total_by_status_view_method_total":
                views.add(sample.labels["view"])
    return names, views


@pytest.mark.django_db(databases="__all__")  # the replicas too: their lag is measured
def test_every_series_in_the_dashboard_and_the_alerts_is_on_a_real_scrape(client):
    scraped, views = _series_after_real_traffic(client)

    def missing(exprs: list[tuple[str, str]]) -> dict[str, set[str]]:
        unknown: dict[str, set[str]] = {}
        for where, expr in exprs:
            names = metric_names(expr)
            assert names, f"{where}: no metric in {expr!r}"
            for name in names - scraped - PROMETHEUS_OWN:
                unknown.setdefault(name, set()).add(where)
        return unknown

    alert_exprs = [(rule["alert"], rule["expr"]) for rule in alert_rules()]
    assert missing(dashboard_queries()) == {}, "dashboard queries name series /metrics lacks"
    assert missing(alert_exprs) == {}, "alert rules name series /metrics lacks"
    # The views the rules and panels leave out are named as parkme.request_metrics labels them.
    assert MONITORING_VIEWS <= views
    assert NOT_USERS in ALERTS.read_text()
    assert any(NOT_USERS in expr for _, expr in dashboard_queries())
