/**
 * Taps: the named tensors a segmentation network exposes during its forward pass.
 *
 * <p>Per encoder stage {@code s = 1..n}: {@code features.s} (the stage output map, NCHW), {@code embeds.s}
 * (the tokens right after the stage's patch-embedding conv and its LayerNorm, shape [B, H_s·W_s, C_s]) and
 * {@code inputs.s} (what the stage consumes: the image for s = 1, the previous stage's output map
 * otherwise); plus {@code logits}. A {@link dev.retort.api.tap.TapLayout} describes them statically (name,
 * channels, stride, layout) so that distillation modules can be built and checked before any tensor flows;
 * {@link dev.retort.api.tap.TapValues} carries the tensors of one forward pass.
 */
@Version("1.0.0")
@Export
package dev.retort.api.tap;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
