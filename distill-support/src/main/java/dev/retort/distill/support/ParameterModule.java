package dev.retort.distill.support;

import ai.djl.nn.Parameter;
import dev.retort.api.distill.DistillationModule;
import dev.retort.nn.ParameterSet;
import java.util.Map;

/**
 * What every built module with parameters of its own does alike (as DJL's {@code AbstractBlock} does for blocks): its
 * name, its parameters by their reference names, and closing them with the module.
 */
public abstract class ParameterModule implements DistillationModule {
    private final String name;
    /** The module's parameters, named as the reference checkpoint names them. */
    protected final ParameterSet params;

    protected ParameterModule(String name, ParameterSet params) {
        this.name = name;
        this.params = params;
    }

    @Override
    public final String name() {
        return name;
    }

    @Override
    public Map<String, Parameter> parameters() {
        return params.asMap();
    }

    @Override
    public void close() {
        params.close();
    }
}
