package dev.retort.distill.support;

import java.lang.annotation.Annotation;
import java.lang.reflect.Method;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;

/**
 * The keys of a component's configuration and their defaults, read from its MetaType annotation (the
 * {@code @interface} its {@code @Designate} names), so that each default is written once: in the annotation, which
 * also describes it to MetaType clients.
 *
 * <p>An attribute's name is its ConfigAdmin key ({@code midChannels}); a run's {@code module.<name>.} section spells
 * the same key in snake_case ({@code mid_channels}). A boolean attribute {@value #ENABLED} switches the component on
 * and off and is not a run key. Attributes are of type {@code boolean}, {@code int}, {@code long}, {@code double} or
 * {@code String} (lists are strings such as {@code "1,2,3,4"}), and each has a default. An attribute marked
 * {@link Structural} cannot change in a built module.
 */
public final class ConfigurationSchema {
    /** The attribute that switches a distiller on and off without stopping its bundle. */
    public static final String ENABLED = "enabled";

    private final String type;
    /** Run key → default, sorted by key. */
    private final Map<String, Object> defaults;
    /** Run key → ConfigAdmin key. */
    private final Map<String, String> adminKeys;
    /** Run key → its {@link Structural} declaration, for the structural keys only. */
    private final Map<String, Structural> structural;
    private final Boolean enabled;

    private ConfigurationSchema(String type, Map<String, Object> defaults, Map<String, String> adminKeys, Map<String, Structural> structural,
                                Boolean enabled) {
        this.type = type;
        this.defaults = Collections.unmodifiableMap(defaults);
        this.adminKeys = Collections.unmodifiableMap(adminKeys);
        this.structural = Collections.unmodifiableMap(structural);
        this.enabled = enabled;
    }

    /**
     * Reads the attributes of {@code metaType}.
     *
     * @throws IllegalArgumentException for an attribute without a default, of another type, or whose name DS would
     *                                  not map to itself (one with {@code _} or {@code $})
     */
    public static ConfigurationSchema of(Class<? extends Annotation> metaType) {
        Map<String, Object> defaults = new TreeMap<>();
        Map<String, String> adminKeys = new TreeMap<>();
        Map<String, Structural> structural = new TreeMap<>();
        Boolean enabled = null;
        for (Method m : metaType.getDeclaredMethods()) {
            String name = m.getName();
            String where = metaType.getSimpleName() + "." + name + "()";
            Object value = m.getDefaultValue();
            if (value == null) throw new IllegalArgumentException(where + " has no default: state each default in the annotation");
            if (name.contains("_") || name.contains("$")) {
                throw new IllegalArgumentException(where + ": DS would map '_' and '$' in a name to another key; use camelCase");
            }
            Class<?> t = m.getReturnType();
            if (t != boolean.class && t != int.class && t != long.class && t != double.class && t != String.class) {
                throw new IllegalArgumentException(where + " is of type " + t.getSimpleName() + "; supported: boolean, int, long, double, String");
            }
            if (name.equals(ENABLED)) {
                if (t != boolean.class) throw new IllegalArgumentException(where + " must be a boolean");
                enabled = (Boolean) value;
                continue;
            }
            String runKey = snakeCase(name);
            if (adminKeys.put(runKey, name) != null) throw new IllegalArgumentException(where + ": two attributes are both '" + runKey + "' in a run");
            defaults.put(runKey, value);
            Structural s = m.getAnnotation(Structural.class);
            if (s != null) structural.put(runKey, s);
        }
        return new ConfigurationSchema(metaType.getName(), defaults, adminKeys, structural, enabled);
    }

    /** {@code midChannels} → {@code mid_channels}. */
    public static String snakeCase(String camelCase) {
        StringBuilder b = new StringBuilder();
        for (char c : camelCase.toCharArray()) {
            if (Character.isUpperCase(c)) b.append('_').append(Character.toLowerCase(c));
            else b.append(c);
        }
        return b.toString();
    }

    /** The keys of a run's {@code module.<name>.} section. */
    public Set<String> runKeys() {
        return defaults.keySet();
    }

    /** The keys of the ConfigAdmin configuration (the attribute names, {@value #ENABLED} included when declared). */
    public Set<String> adminKeys() {
        Set<String> keys = new java.util.TreeSet<>(adminKeys.values());
        if (enabled != null) keys.add(ENABLED);
        return Collections.unmodifiableSet(keys);
    }

    /** The ConfigAdmin spelling of a run key. */
    public String adminKey(String runKey) {
        String k = adminKeys.get(runKey);
        if (k == null) throw new IllegalArgumentException("no key " + runKey + " in " + type + "; its keys: " + runKeys());
        return k;
    }

    /** How a change of {@code runKey} rebuilds the module; empty for a key applied in place. */
    public Optional<Structural> structural(String runKey) {
        adminKey(runKey);  // a known key
        return Optional.ofNullable(structural.get(runKey));
    }

    /** Run key → its default, as the annotation states it (Boolean, Integer, Long, Double or String). */
    public Map<String, Object> defaults() {
        return defaults;
    }

    /** {@code values} (by run key) spelled as ConfigAdmin keys, in the same order. */
    public Map<String, Object> asAdminKeys(Map<String, ?> values) {
        Map<String, Object> m = new LinkedHashMap<>();
        values.forEach((k, v) -> m.put(adminKey(k), v));
        return m;
    }

    /** Whether the annotation declares {@value #ENABLED}. */
    public boolean switchable() {
        return enabled != null;
    }

    /** The default of {@value #ENABLED}; true when the annotation does not declare it. */
    public boolean enabledByDefault() {
        return enabled == null || enabled;
    }
}
