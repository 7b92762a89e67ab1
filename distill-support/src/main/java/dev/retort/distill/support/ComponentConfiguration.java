package dev.retort.distill.support;

import dev.retort.api.error.RetortConfigException;
import dev.retort.nn.Keys;
import dev.retort.nn.Settings;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Function;

/**
 * A component's ConfigAdmin configuration as it stands: the values read from it, or why it was rejected. A component
 * reads its properties through {@link #apply} instead of a typed configuration annotation, so that a bad key or value
 * is recorded and reported ("configuration rejected: …") rather than failing the component with a stack trace and
 * silently leaving its defaults in force; the values of the last accepted configuration stay.
 *
 * @param <T> what the component reads from its configuration
 */
public final class ComponentConfiguration<T> {
    private final String name;
    private final String pid;
    private final Set<String> keys;
    private final String[] componentProperties;
    private volatile T values;
    private volatile String rejection;

    /**
     * @param name                the component's user-facing name (messages, {@code module.<name>.} run keys)
     * @param pid                 its configuration PID (messages)
     * @param keys                the keys its configuration may hold
     * @param initial             the values before any configuration (the defaults)
     * @param componentProperties service properties of the component that are not user keys
     */
    public ComponentConfiguration(String name, String pid, Set<String> keys, T initial, String... componentProperties) {
        this.name = name;
        this.pid = pid;
        this.keys = Set.copyOf(keys);
        this.values = initial;
        this.componentProperties = componentProperties.clone();
    }

    /** Reads {@code properties} with {@code reader}; a bad key or value keeps the previous values and records why. */
    public void apply(Map<String, ?> properties, Function<Settings, T> reader) {
        try {
            Settings c = new Settings(pid, Keys.userKeys(properties, componentProperties));
            c.requireKnown("", keys);
            values = reader.apply(c);
            rejection = null;
        } catch (IllegalArgumentException e) {
            rejection = e.getMessage();
            System.err.println("retort: " + name + ": configuration rejected: " + rejection);
        }
    }

    /** The values of the last accepted configuration (the defaults before any). */
    public T values() {
        return values;
    }

    public Optional<String> rejection() {
        return Optional.ofNullable(rejection);
    }

    /**
     * Checks a run's {@code module.<name>.} section against the keys a run may set, and that the component's own
     * configuration is in force (a run must not train with values its user did not ask for).
     */
    public void checkRun(Map<String, ?> runConfiguration, Set<String> runKeys) {
        new Settings(name, runConfiguration).requireKnown("module." + name + ".", runKeys);
        if (rejection != null) throw new RetortConfigException(name + ": configuration rejected: " + rejection);
    }

    /** What a distiller reads from its configuration: the defaults of a run's module section, and whether it is on. */
    public record Defaults(Map<String, Object> values, boolean enabled) {
        public Defaults {
            values = Map.copyOf(values);
        }
    }
}
