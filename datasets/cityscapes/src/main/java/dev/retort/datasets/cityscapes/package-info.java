/** The Cityscapes dataset (fine annotations), a {@code SegmentationDataset} service named {@code cityscapes}. */
package dev.retort.datasets.cityscapes;
