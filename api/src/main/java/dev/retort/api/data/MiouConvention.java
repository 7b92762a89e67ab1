package dev.retort.api.data;

/**
 * How a dataset's mean IoU is averaged; a property of the dataset under its protocol, stated by the dataset so that
 * no evaluator guesses it from a protocol name.
 */
public enum MiouConvention {
    /**
     * The TransKD reference's {@code iouEval}: IoU = TP / (TP + FP + FN + 1e-15) for every evaluated class, so a class
     * absent from both ground truth and prediction scores 0 and still counts in the mean.
     */
    ALL_CLASSES,
    /** The usual convention (mmseg, torchmetrics): the mean runs over the classes present in the ground truth or the prediction. */
    PRESENT_CLASSES
}
