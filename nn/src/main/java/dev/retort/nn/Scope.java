package dev.retort.nn;

/** A per-thread setting opened by {@code nn} ({@link CastWeights#open()}, {@link Ops#bf16Products()}); closing restores the previous one. */
public interface Scope extends AutoCloseable {
    @Override
    void close();
}
