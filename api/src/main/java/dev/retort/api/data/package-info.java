/**
 * Segmentation datasets.
 *
 * <p>A {@link dev.retort.api.data.SegmentationDataset} service opens a dataset by root, split and protocol and
 * returns a {@link dev.retort.api.data.SampleSource}: random access to decoded, augmented
 * {@link dev.retort.api.data.Sample}s. Augmentation is a pure function of the sample index and a seed, so the
 * data order and content of a run depend on its seed only, never on thread count.
 * {@link dev.retort.api.data.DatasetInfo} carries class names, the ignore class, the palette and the class
 * weights of the loss, and the {@link dev.retort.api.data.MiouConvention} its mean IoU follows.
 *
 * <p>2.0.0: {@code DatasetInfo} gained its {@code miou} convention (a new record component: a breaking change).
 *
 * <p>2.1.0: {@code SampleSource.fixedOrder()} (a default method, false): a source whose samples are read in index order.
 */
@Version("2.1.0")
@Export
package dev.retort.api.data;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
