/**
 * Backbones: services that build segmentation networks by name.
 *
 * <p>A {@link dev.retort.api.backbone.Backbone} service (one per family, e.g. {@code mit}) lists the variants
 * it builds ({@code mit-b0} … {@code mit-b5}) and builds a {@link dev.retort.api.backbone.SegmentationNetwork}
 * from a variant name and a configuration map that may override any architectural field (so tests and demos
 * can use tiny networks). {@link dev.retort.api.backbone.Backbone#describe describe} gives the static
 * {@link dev.retort.api.tap.TapLayout} without allocating tensors.
 *
 * <p>Parameters are exposed by their reference state-dict names (e.g. {@code block1.0.attn.q.weight}) so that
 * checkpoints of the reference implementation load and any saver can write them.
 */
@Version("1.4.0")
@Export
package dev.retort.api.backbone;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
