package dev.retort.api.backbone;

/** How much of a weights file must match. */
public enum LoadMode {
    /** Every parameter of the network is loaded and the file holds nothing else; any mismatch is an error. */
    STRICT,
    /**
     * The encoder only (how the reference starts a teacher from ImageNet weights): head keys and keys the
     * network does not know are skipped and reported; missing or mis-shaped encoder keys are still errors.
     */
    ENCODER_ONLY
}
