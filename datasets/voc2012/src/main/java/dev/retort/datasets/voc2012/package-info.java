/**
 * Pascal VOC 2012 (21 classes, palette labels, {@code trainaug}), a {@code SegmentationDataset} service named
 * {@code voc2012}.
 */
package dev.retort.datasets.voc2012;
