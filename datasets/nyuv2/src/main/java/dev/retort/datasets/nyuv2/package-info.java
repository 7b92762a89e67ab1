/** NYUv2 in its 40-class set, a {@code SegmentationDataset} service named {@code nyuv2}. */
package dev.retort.datasets.nyuv2;
