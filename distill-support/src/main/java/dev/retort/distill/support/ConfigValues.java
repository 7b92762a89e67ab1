package dev.retort.distill.support;

import dev.retort.nn.Settings;
import java.util.Map;
import java.util.Objects;

/**
 * One complete, unchecked configuration of a {@link ConfiguredDistiller}: every key of its schema has a value (the
 * user's, else the annotation's default). A distiller reads its options here by run key ({@code mid_channels});
 * a bad value is an error that names the owner and the key as the user wrote it ({@code dev.retort.distill.csf:
 * midChannels must be …} for a ConfigAdmin value, {@code csf: mid_channels must be …} for a run's).
 */
public final class ConfigValues {
    private final ConfigurationSchema schema;
    private final Settings settings;
    private final boolean admin;

    private ConfigValues(ConfigurationSchema schema, Settings settings, boolean admin) {
        this.schema = schema;
        this.settings = settings;
        this.admin = admin;
    }

    /** A ConfigAdmin configuration: {@code values} by ConfigAdmin key, over the defaults; messages start with {@code owner}. */
    static ConfigValues admin(ConfigurationSchema schema, String owner, Map<String, ?> values) {
        return new ConfigValues(schema, new Settings(owner, values), true);
    }

    /** A run's module section: {@code values} by run key, over the defaults; messages start with {@code owner}. */
    static ConfigValues run(ConfigurationSchema schema, String owner, Map<String, ?> values) {
        return new ConfigValues(schema, new Settings(owner, values), false);
    }

    /** For tests of a distiller's reading: {@code values} by run key over the schema's defaults. */
    public static ConfigValues of(ConfigurationSchema schema, String owner, Map<String, ?> values) {
        Map<String, Object> all = new java.util.LinkedHashMap<>(schema.defaults());
        all.putAll(values);
        return run(schema, owner, all);
    }

    /** A finite number. */
    public double real(String key) {
        return settings.real(key(key), 0);
    }

    /** A finite number in [{@code min}, {@code max}]. */
    public double real(String key, double min, double max) {
        return settings.real(key(key), 0, min, max);
    }

    /** A number > 0. */
    public double positive(String key) {
        return settings.positive(key(key), 0);
    }

    /** An integer ({@code 1.7} is an error, never truncated). */
    public int integer(String key) {
        return settings.integer(key(key), 0);
    }

    /** An integer of at least {@code min}. */
    public int integer(String key, int min) {
        return settings.integer(key(key), 0, min);
    }

    public boolean bool(String key) {
        return settings.bool(key(key), false);
    }

    /** A list of finite numbers ({@code "0.1,0.1,0.5,1"}). */
    public double[] reals(String key) {
        return settings.reals(key(key), new double[0]);
    }

    /** A list of integers. */
    public int[] integers(String key) {
        return settings.integers(key(key), new int[0]);
    }

    /** The value as given (for messages and descriptions). */
    public Object raw(String key) {
        return settings.raw(key(key));
    }

    /** "{@code owner}: {@code key} must be {@code expected}, got '{@code got}'", the key spelled as the user wrote it. */
    public IllegalArgumentException error(String key, String expected, Object got) {
        return settings.error(key(key), expected, got);
    }

    /** "{@code owner}: {@code message}". */
    public IllegalArgumentException invalid(String message) {
        return settings.invalid(message);
    }

    /** The key as this configuration spells it; every key of the schema has a value here. */
    private String key(String runKey) {
        String adminKey = schema.adminKey(runKey);  // throws for a key the schema does not declare, naming its keys
        String k = admin ? adminKey : runKey;
        Objects.requireNonNull(settings.raw(k), () -> "no value for " + k);
        return k;
    }
}
