package dev.retort.backbones.mit;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;
import dev.retort.nn.Init;
import dev.retort.nn.ParameterSet;
import java.util.ArrayList;
import java.util.List;

/**
 * A part of the SegFormer that owns its name prefix, its parameters, its forward and its cost — DJL's
 * {@code AbstractBlock.addChildBlock} idea, but with the reference checkpoint's dotted names and the seeded per-name
 * initialisation of {@link ParameterSet} instead of DJL's indexed child names and shape-inferred initialisers.
 *
 * <p>Constructing a block only declares its parameters (names, shapes, initialisers): describing and costing a
 * network needs no engine. {@link #create} then allocates them, in declaration order, which is the order of the
 * reference state dict. The forward and cost methods of each block take what that block needs (tokens and their
 * map size, a map, a list of maps), so they are declared by the subclasses.
 */
abstract class Block {
    private sealed interface Entry permits Weight, Child {}

    private record Weight(String name, Shape shape, Init init, boolean trainable) implements Entry {}

    private record Child(String name, Block block) implements Entry {}

    private final List<Entry> entries = new ArrayList<>();
    private ParameterSet params;
    private String prefix;

    /** Declares a trainable parameter {@code <prefix>.<name>}. */
    protected final void parameter(String name, Shape shape, Init init) {
        entries.add(new Weight(name, shape, init, true));
    }

    /** Declares a buffer (saved and loaded, never trained). */
    protected final void buffer(String name, Shape shape, Init init) {
        entries.add(new Weight(name, shape, init, false));
    }

    /**
     * Adds a child whose names are {@code <prefix>.<name>.…}. The name may be dotted ({@code dwconv.dwconv}: the
     * reference wraps that conv in a module of its own) or empty (a grouping the reference does not name).
     */
    protected final <B extends Block> B child(String name, B block) {
        entries.add(new Child(name, block));
        return block;
    }

    /** Allocates the parameters of this block and its children in {@code params}, under {@code prefix}. */
    final void create(ParameterSet params, String prefix) {
        if (this.params != null) throw new IllegalStateException("block " + prefix + " is already created");
        this.params = params;
        this.prefix = prefix;
        for (Entry e : entries) {
            if (e instanceof Weight w) {
                if (w.trainable()) params.add(join(prefix, w.name()), w.shape(), w.init());
                else params.buffer(join(prefix, w.name()), w.shape(), w.init());
            } else if (e instanceof Child c) {
                c.block().create(params, join(prefix, c.name()));
            }
        }
    }

    /** Trainable values of this block and its children, from the declarations alone. */
    public final long parameterCount() {
        long n = 0;
        for (Entry e : entries) {
            if (e instanceof Weight w && w.trainable()) n += w.shape().size();
            else if (e instanceof Child c) n += c.block().parameterCount();
        }
        return n;
    }

    /** The array of one of this block's own parameters (after {@link #create}). */
    protected final NDArray get(String name) {
        return parameters().get(join(prefix, name));
    }

    /** The set this block was created in, for the {@code Ops} helpers that take a set and a prefix. */
    protected final ParameterSet parameters() {
        if (params == null) throw new IllegalStateException("the block's parameters are not created; a described network has no forward");
        return params;
    }

    /** This block's full name prefix, e.g. {@code block2.1.attn}. */
    protected final String prefix() {
        return prefix;
    }

    private static String join(String prefix, String name) {
        if (prefix.isEmpty()) return name;
        return name.isEmpty() ? prefix : prefix + "." + name;
    }
}
