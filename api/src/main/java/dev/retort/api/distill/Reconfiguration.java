package dev.retort.api.distill;

import java.util.Objects;

/**
 * What a built module did with a new configuration ({@link DistillationModule#reconfigure}).
 *
 * @param inPlace whether the module applied it and stays: its parameters, and the optimiser's state of them, are
 *                kept. {@code false}: the change is structural (a parameter shape, a stage list, an initial value
 *                of a learnable parameter); the module changed nothing and must be built anew, from scratch
 * @param changes what changed, for the run's log (e.g. {@code weight 1.0 -> 0.5}, or for a rebuild
 *                {@code mid_channels 64 -> 32 changes the parameter shapes}); empty when nothing the module uses changed
 */
public record Reconfiguration(boolean inPlace, String changes) {
    public Reconfiguration {
        Objects.requireNonNull(changes, "changes");
    }

    /** Applied to the built module; {@code changes} may be empty (nothing it uses changed). */
    public static Reconfiguration applied(String changes) {
        return new Reconfiguration(true, changes);
    }

    /** Needs a new module; {@code reason} names the structural keys and their old and new values. */
    public static Reconfiguration rebuild(String reason) {
        return new Reconfiguration(false, reason);
    }
}
