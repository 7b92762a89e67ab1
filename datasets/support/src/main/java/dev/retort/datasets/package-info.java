/**
 * What the dataset bundles share, as a library (it registers no service): {@link dev.retort.datasets.FileDataset}
 * (a dataset of image/label files in a published layout: subclasses find the pairs and map label values; decoding,
 * checks and the {@code on_error} policy are here), {@link dev.retort.datasets.Protocols} (the {@code transkd} and
 * {@code standard} protocols, PIL-exact resampling), {@link dev.retort.datasets.RgbImage} and the Cityscapes label
 * space ({@link dev.retort.datasets.CityscapesClasses}, {@link dev.retort.datasets.CityscapesLabelSpace}) that
 * Cityscapes, ACDC and the synthetic city share. Each dataset lives in its own bundle and package
 * ({@code dev.retort.datasets.<name>}), so stopping one leaves the others open. {@link dev.retort.datasets.BatchLoader}
 * puts samples together into {@link dev.retort.datasets.Batch}es in a seeded order with prefetching threads, the same
 * for any thread count; the runner trains from it and {@code kd:dataset} checks batching with it.
 *
 * <p>1.1.0: {@code BatchLoader} and {@code Batch} (from the runner).
 */
@Version("1.1.0")
@Export
package dev.retort.datasets;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
