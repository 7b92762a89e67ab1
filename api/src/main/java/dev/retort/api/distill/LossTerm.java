package dev.retort.api.distill;

import ai.djl.ndarray.NDArray;
import java.util.Objects;

/**
 * One named loss term. The total loss adds {@code weight * value} over all terms.
 *
 * @param name   e.g. {@code pea.3} or {@code csf.hcl}
 * @param weight the term's weight (already configured; reported separately so logs show both)
 * @param value  a scalar NDArray
 */
public record LossTerm(String name, double weight, NDArray value) {
    public LossTerm {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(value, "value");
    }
}
