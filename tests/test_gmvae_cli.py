"""The gmvae CLI on a tiny run: figures, metrics.json, resume and bad flags."""
import json

import pytest

from gmvae.figures import FIGURE_NAMES
from scripts import gmvae as cli

TINY = ["--epochs", "1", "-K", "3", "-D", "4", "--enc-hidden", "32", "--dec-hidden", "32",
        "--batch-size", "20", "--n-test", "30", "--max-train", "60", "--is-samples", "5",
        "--quiet"]


@pytest.mark.rubric("P3.R3", "P3.R4")
def test_cli_writes_figures_and_metrics(tmp_path):
    out = tmp_path / "run"
    assert cli.main(TINY + ["--out", str(out), "--variant", "pretrain",
                            "--pretrain-epochs", "1"]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    for name in FIGURE_NAMES:
        assert (out / name).is_file(), name
        assert name in metrics["figures"]
    test = metrics["test"]
    for key in ("test_lower_bound", "test_loglik", "test_loglik_stderr", "accuracy",
                "nmi", "clusters_used", "purity"):
        assert key in test
    assert 0.0 <= test["accuracy"] <= 1.0 and test["test_loglik"] < 0
    assert metrics["config"]["n_clusters"] == 3 and metrics["n_train"] == 60
    assert (out / "checkpoints" / "config.json").is_file()
    assert any((out / "tensorboard").iterdir())
    # Resuming with another K is refused with a clear one-line message.
    with pytest.raises(SystemExit) as exc:
        cli.main(TINY[:2] + ["-K", "4"] + TINY[4:] + ["--out", str(out), "--resume",
                                                     "--variant", "pretrain",
                                                     "--pretrain-epochs", "1"])
    assert exc.value.code == 2


@pytest.mark.parametrize("flags", [["-K", "0"], ["-D", "0"], ["--enc-hidden", "a,b"]])
def test_cli_rejects_bad_flags(flags, tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(flags + ["--out", str(tmp_path)])
    assert exc.value.code == 2
    assert "error" in capsys.readouterr().err
