"""A Serket-style VAE + GMM integrated model, with Serket's tutorial API.

    from gmvae.serket import serket as srk, vae, gmm

    obs = srk.Observation(np.loadtxt("data.txt"))
    data_category = np.loadtxt("category.txt")
    vae1 = vae.VAE(18, itr=200, batch_size=500)
    gmm1 = gmm.GMM(10, category=data_category)
    vae1.connect(obs)
    gmm1.connect(vae1)
    for i in range(5):
        vae1.update()
        gmm1.update()

The VAE compresses the observations o into latents z (posterior means) and
sends them to the GMM; the GMM (Bayesian, Gaussian-Wishart prior per class,
full covariance, mean-field VB) clusters them and sends each point's class
mean mu back; the VAE retrains maximising
E_q[log p(o|z)] - alpha KL(q(z|o) || N(mu, I)).

Modules are numbered in creation order (``srk.reset(root)`` restarts the
numbering and sets the output root; default: the current directory), so the
tutorial writes:

module001_vae/ (``vae.VAE``; {mode} is learn or recog)
    z_{mode}.txt       [N, latent_dim] latents sent to the GMM
    x_hat_{mode}.txt   [N, M] reconstructions
    loss.txt, loss.png rows "update epoch loss" and their curve
    model.ckpt.*       network weights;  config.json: settings
    history.json       seconds and final loss per update

module002_gmm/ (``gmm.GMM``)
    class_{mode}.txt   [N] classes (renamed to matched true labels when
                       ``category`` is given)
    acc_{mode}.txt     accuracy (Hungarian matching; only with ``category``)
    Pdz_{mode}.txt     [N, K] class probabilities
    mu_{mode}.txt      [N, D] each point's class mean (sent to the VAE)
    means_{mode}.txt   [K, D] class means
    model.pickle       posterior and prior parameters
    metrics_{mode}.json, history.json   accuracy, NMI, ELBO, class sizes, seconds

Recognition of new data with trained modules:
``vae.VAE(18, mode="recog", load_dir="module001_vae")`` and
``gmm.GMM(10, mode="recog", load_dir="module002_gmm")``, connected the same
way, write the ``*_recog`` files.

Also: :func:`gmvae.serket.tutorial.run_tutorial` (the loop with timing and
metrics per round) and :func:`gmvae.serket.benchmark.run_benchmark`.
"""
import importlib

__all__ = ["serket", "vae", "gmm"]


def __getattr__(name):
    # The modules load on first use, so that ``gmvae.serket.config`` (numpy
    # only) can check a CLI's input before the VAE's TensorFlow starts.
    if name in __all__:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
