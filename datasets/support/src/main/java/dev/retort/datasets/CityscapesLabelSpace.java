package dev.retort.datasets;

import java.util.List;

/** Datasets labelled in the 19 Cityscapes train classes (Cityscapes, ACDC): their names, palette and loss weights. */
abstract class CityscapesLabelSpace extends FileDataset {
    @Override
    List<String> classes() {
        return CityscapesClasses.NAMES;
    }

    @Override
    int[] palette() {
        return CityscapesClasses.PALETTE.clone();
    }

    @Override
    float[] transkdWeights() {
        return CityscapesClasses.TRANSKD_WEIGHTS.clone();
    }
}
