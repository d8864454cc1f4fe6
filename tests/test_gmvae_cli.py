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


@pytest.mark.rubric("P3.R3")
def test_cli_trains_on_the_official_split_and_records_it(tmp_path):
    """An IDX folder with train-* and t10k-*: the t10k images are the test set
    (never trained on) and metrics.json says so, with the sizes."""
    import numpy as np

    from common.data import load_mnist_split
    from common.data.tiling import write_idx_mnist

    s = load_mnist_split(None, seed=0)
    write_idx_mnist(tmp_path / "idx", s.x_train[:80], s.y_train[:80], s.x_test[:25],
                    s.y_test[:25])
    out = tmp_path / "run"
    tiny = [a for a in TINY if a not in ("--n-test", "30")]
    assert cli.main(tiny + ["--data", str(tmp_path / "idx"), "--out", str(out),
                            "--epoch-images", "40"]) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["data"]["split"] == "official" and metrics["data"]["format"] == "idx"
    assert (metrics["data"]["n_train"], metrics["data"]["n_test"]) == (60, 25)
    assert metrics["test"]["n_test"] == 25
    # --epoch-images 40 at batch 20: two steps per epoch, whatever the data size.
    assert metrics["config"]["epoch_images"] == 40
    assert {"lower_bound", "is_loglik"} <= set(metrics["test"]["seconds"])
    assert np.isfinite(metrics["test"]["test_loglik"])


def test_epoch_images_fixes_the_steps_per_epoch_whatever_the_data_size():
    import numpy as np

    from gmvae.config import GMVAEConfig
    from gmvae.learning import Trainer

    cfg = GMVAEConfig(n_clusters=3, latent_dim=4, enc_hidden=(16,), dec_hidden=(16,),
                      batch_size=20, epoch_images=60, verbose=False)
    rng = np.random.default_rng(0)
    for n in (60, 300, 1000):
        assert Trainer(cfg, rng.random((n, 784), dtype=np.float32)).steps_per_epoch == 3
    # Without it an epoch is a pass; with fewer images than it, a pass too.
    assert Trainer(cfg.replace(epoch_images=None),
                   rng.random((300, 784), dtype=np.float32)).steps_per_epoch == 15
    assert Trainer(cfg, rng.random((40, 784), dtype=np.float32)).steps_per_epoch == 2
