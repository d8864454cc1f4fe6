"""Random affine distortions of MNIST images inside the training graph.

Used by the augmentation-consistency regulariser (:mod:`gmvae.regularizers`):
a digit rotated by a few degrees, rescaled a little and shifted by a pixel or
two is still the same digit, so it should land in the same cluster.  This is
the self-augmentation of IMSAT (Hu et al., 2017) with affine distortions in
place of adversarial noise.

Everything is stateless (seeded by a ``[2]`` integer tensor), so a training
step stays reproducible, and runs as one ``ImageProjectiveTransformV3`` call
(bilinear) on the whole batch.
"""
import math

import tensorflow as tf

__all__ = ["random_affine"]


def random_affine(images, seed, max_rotation=15.0, max_shift=2.0, max_scale=0.1,
                  max_shear=0.0, side=28):
    """Randomly rotate, scale, shear (slant) and shift each image.

    :param images: ``[n, side * side]`` float images in [0, 1].
    :param seed: ``[2]`` int32/int64 tensor.
    :param max_rotation: degrees, uniform in [-max, max].
    :param max_shift: pixels, uniform in [-max, max] along each axis.
    :param max_scale: relative, scale uniform in [1 - max, 1 + max].
    :param max_shear: horizontal shear x += k y (a change of slant), k uniform
        in [-max, max].
    :return: ``[n, side * side]`` float32 images in [0, 1].
    """
    x = tf.convert_to_tensor(images, tf.float32)
    n = tf.shape(x)[0]
    u = tf.random.stateless_uniform([n, 5], seed, minval=-1., maxval=1.)
    angle = u[:, 0] * (max_rotation * math.pi / 180.)
    inv_scale = 1. / (1. + u[:, 1] * max_scale)
    shift = u[:, 2:4] * max_shift                                  # [n, 2] (x, y)
    shear = u[:, 4] * max_shear
    c = (side - 1) / 2.
    cos, sin = tf.cos(angle) * inv_scale, tf.sin(angle) * inv_scale
    # The transform maps output pixel (x, y) to the input pixel it reads:
    # input = A (output - c - shift) + c, with A the inverse of the forward
    # map (rotation-scaling after shear): A = [[1, -k], [0, 1]] R^-1 / s.
    ox, oy = c + shift[:, 0], c + shift[:, 1]
    a0, a1 = cos - shear * sin, -sin - shear * cos
    b0, b1 = sin, cos
    a2 = c - a0 * ox - a1 * oy
    b2 = c - b0 * ox - b1 * oy
    zeros = tf.zeros_like(a0)
    transforms = tf.stack([a0, a1, a2, b0, b1, b2, zeros, zeros], axis=1)
    out = tf.raw_ops.ImageProjectiveTransformV3(
        images=tf.reshape(x, [n, side, side, 1]), transforms=transforms,
        output_shape=tf.constant([side, side], tf.int32), fill_value=0.,
        interpolation="BILINEAR", fill_mode="CONSTANT")
    return tf.clip_by_value(tf.reshape(out, [n, side * side]), 0., 1.)
