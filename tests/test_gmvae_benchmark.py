"""The benchmark pipeline end to end on a tiny budget (JSON keys and figures)."""
import json

from gmvae.benchmark import run_benchmark

TINY_BUDGET = dict(
    seeds=(0,), epochs=1, pretrain_epochs=1, is_samples=3, is_samples_other_seeds=2,
    throughput_repeats=1, eval_every=1, variants=("pretrain", "semi"),
    loglik_epochs=1, loglik_variant="pretrain", throughput_images=200,
    throughput_batch=20, scaling_batches=(10, 20, 40),
    config_overrides=dict(n_clusters=10, latent_dim=4, enc_hidden=(16,),
                          dec_hidden=(16,), batch_size=100, max_train=300))


def test_benchmark_writes_consistent_json(tmp_path):
    res = run_benchmark(tmp_path, budget=TINY_BUDGET, verbose=False)
    on_disk = json.loads((tmp_path / "benchmark.json").read_text())
    assert on_disk["completed_runs"] == 2
    assert set(on_disk["table"]) == {"pretrain", "semi"}
    assert on_disk["table"]["pretrain"]["n_seeds"] == 1
    assert {"mean", "std", "median", "min", "max"} <= set(on_disk["table"]["semi"]["accuracy"])
    assert set(on_disk["loglik_runs"]) == {"gmvae_pretrain", "vae"}
    assert on_disk["best_regularizer"] == "pretrain"
    tp = on_disk["throughput"]
    assert tp["vae_images_per_second"] > 0 and tp["gmvae_step_over_vae_step"] > 0
    # The VAE step's parts, each timed alone, add up to the whole step.
    parts = tp["vae_step_parts"]
    assert parts["full_step_ms"] > 0 and parts["gemms_ms"] > 0 and parts["adam_ms"] > 0
    assert abs(parts["gemms_ms"] + parts["adam_ms"] + parts["rest_ms"]
               - parts["full_step_ms"]) < 1e-9
    assert parts["gemms_only_fraction_of_sgemm"] > parts["gemms_and_adam_fraction_of_sgemm"]
    # Step time against batch size: a line through the measured points.
    sc = tp["vae_step_scaling"]
    assert sc["batches"] == [10, 20, 40] and sc["images_per_epoch"] == 200
    assert sc["per_image_us"] > 0 and sc["marginal_fraction_of_sgemm"] > 0
    assert set(sc["step_ms"]) == {"10", "20", "40"} and min(sc["step_ms"].values()) > 0
    for name in ("best_regularizer_accuracy_median_ge_0.90", "semi_supervised_accuracy_ge_0.92",
                 "vae_images_per_second_ge_14000", "gmvae_step_over_vae_step_le_1.1",
                 "best_gmvae_test_loglik_ge_-100"):
        assert isinstance(on_disk["targets"][name]["met"], bool)
    assert (tmp_path / "samples_semi_vs_unsup.png").is_file()
    assert (tmp_path / "clustering_by_variant.png").is_file()
    assert "| semi | 1 |" in (tmp_path / "table.md").read_text()
    assert (tmp_path / "runs" / "pretrain_seed0" / "samples_per_cluster.png").is_file()
    assert res["semi_vs_unsupervised"]["unsupervised_variant"] == "pretrain"
    assert "samples_semi_vs_unsup.png" in res["figures"] and res["seeds_text"] == "0"
    # Resuming reuses the finished runs and gives the same numbers.
    again = run_benchmark(tmp_path, budget=TINY_BUDGET, verbose=False, resume=True)
    assert all(r["reused"] for rs in again["runs"].values() for r in rs)
    assert again["table"]["semi"]["accuracy"] == res["table"]["semi"]["accuracy"]
