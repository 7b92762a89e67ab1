/**
 * A seeded procedural street scene generator in the Cityscapes classes, a {@code SegmentationDataset} service
 * named {@code synthetic}.
 */
package dev.retort.datasets.synthetic;
