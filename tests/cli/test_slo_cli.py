"""``heritage-otel slo check`` and ``analyzer serve --slo``: objectives listed, a bad document refused at
start-up naming its field (before anything binds a port)."""

from __future__ import annotations

from click.testing import CliRunner

from heritage_otel.analysis.slo.files import EXAMPLE_FILE
from heritage_otel.cli.main import cli


def test_slo_check_lists_the_objectives_with_their_burn_rate_rules() -> None:
    result = CliRunner().invoke(cli, ["slo", "check", str(EXAMPLE_FILE)])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[0] == ("availability: recommender, target 0.995 over 28d (Occurrences); "
                                             "page 14.4x/1h, page 6x/6h, ticket 1x/3d")


def test_serve_refuses_a_bad_slo_file_naming_the_field(tmp_path) -> None:
    bad = tmp_path / "slos.yaml"
    bad.write_text(EXAMPLE_FILE.read_text().replace("target: 0.995", "target: 99.5"))
    result = CliRunner().invoke(cli, ["analyzer", "serve", "--port", "0", "--slo", str(bad)])
    assert result.exit_code == 2
    assert f"--slo: {bad}: SLO 'availability': spec.objectives[0].target = 99.5 is not valid" in result.output


def test_serve_refuses_a_time_scale_above_one(tmp_path) -> None:
    result = CliRunner().invoke(cli, ["analyzer", "serve", "--slo", str(EXAMPLE_FILE), "--slo-time-scale", "2"])
    assert result.exit_code == 2 and "time_scale = 2.0 is not valid; expected a number in (0, 1]" in result.output
