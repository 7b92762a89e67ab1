package dev.retort.api.tap;

/** The tap names every backbone uses. */
public final class TapNames {
    /** Class scores at the head's output resolution (1/4 of the input for SegFormer), NCHW. */
    public static final String LOGITS = "logits";

    private TapNames() {}

    /** Stage {@code s} output map (1-based). */
    public static String features(int stage) {
        return "features." + stage;
    }

    /** Stage {@code s} patch embedding (tokens after the patch-embedding conv and its LayerNorm). */
    public static String embeds(int stage) {
        return "embeds." + stage;
    }

    /** Stage {@code s} input: the image for stage 1, the previous stage's output map otherwise. */
    public static String inputs(int stage) {
        return "inputs." + stage;
    }
}
