/**
 * The ACDC dataset (fog, night, rain, snow in the Cityscapes label space), a {@code SegmentationDataset} service
 * named {@code acdc}.
 */
package dev.retort.datasets.acdc;
