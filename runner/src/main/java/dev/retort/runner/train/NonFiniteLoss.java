package dev.retort.runner.train;

/** Ends a run whose loss became NaN or infinite under {@code on_nonfinite = stop}, or that diverged. */
final class NonFiniteLoss extends RuntimeException {
    private static final long serialVersionUID = 1L;

    NonFiniteLoss(String message) {
        super(message);
    }
}
