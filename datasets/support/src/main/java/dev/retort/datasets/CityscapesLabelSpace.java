package dev.retort.datasets;

import java.util.List;

/** Datasets labelled in the 19 Cityscapes train classes (Cityscapes, ACDC): their names, palette and loss weights. */
public abstract class CityscapesLabelSpace extends FileDataset {
    @Override
    protected List<String> classes() {
        return CityscapesClasses.NAMES;
    }

    @Override
    protected int[] palette() {
        return CityscapesClasses.PALETTE.clone();
    }

    @Override
    protected float[] transkdWeights() {
        return CityscapesClasses.TRANSKD_WEIGHTS.clone();
    }
}
