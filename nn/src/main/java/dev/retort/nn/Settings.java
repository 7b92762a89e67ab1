package dev.retort.nn;

import dev.retort.api.error.RetortConfigException;
import java.util.Arrays;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads typed values from a configuration map (ConfigAdmin properties or a run file's section), falling back
 * to a default; a value of the wrong type is an error that names the owner and the key.
 */
public final class Settings {
    private final String owner;
    private final Map<String, ?> values;

    public Settings(String owner, Map<String, ?> values) {
        this.owner = owner;
        this.values = values == null ? Map.of() : values;
    }

    /** Settings of {@code overrides} over {@code defaults} (e.g. a run's module section over the ConfigAdmin defaults). */
    public static Settings merged(String owner, Map<String, ?> defaults, Map<String, ?> overrides) {
        Map<String, Object> m = new HashMap<>(defaults);
        if (overrides != null) m.putAll(overrides);
        return new Settings(owner, m);
    }

    /** The raw value of a key, or null. */
    public Object raw(String key) {
        return values.get(key);
    }

    /** {@code defaults}, with this configuration's raw value for each of their keys that it sets. */
    public Map<String, Object> over(Map<String, ?> defaults) {
        Map<String, Object> m = new LinkedHashMap<>(defaults);
        m.replaceAll((k, v) -> values.containsKey(k) ? values.get(k) : v);
        return m;
    }

    /** A finite number; NaN and infinities are errors. */
    public double real(String key, double fallback) {
        Object v = values.get(key);
        if (v == null) return fallback;
        double d;
        if (v instanceof Number n) {
            d = n.doubleValue();
        } else {
            try {
                d = Double.parseDouble(v.toString().trim());
            } catch (NumberFormatException e) {
                throw error(key, "a number", v);
            }
        }
        if (!Double.isFinite(d)) throw error(key, "a finite number", v);
        return d;
    }

    /** A finite number in [{@code min}, {@code max}]. */
    public double real(String key, double fallback, double min, double max) {
        double d = real(key, fallback);
        if (d < min || d > max) throw error(key, range(min, max), got(key, fallback));
        return d;
    }

    /** A number greater than 0 (e.g. a learning rate). */
    public double positive(String key, double fallback) {
        double d = real(key, fallback);
        if (!(d > 0)) throw error(key, "a number > 0", got(key, fallback));
        return d;
    }

    /** An integer; {@code 1.7} is an error, never truncated. */
    public int integer(String key, int fallback) {
        long n = whole(key, fallback);
        if (n < Integer.MIN_VALUE || n > Integer.MAX_VALUE) throw error(key, "an integer of at most " + Integer.MAX_VALUE, values.get(key));
        return (int) n;
    }

    /** An integer of at least {@code min}. */
    public int integer(String key, int fallback, int min) {
        int n = integer(key, fallback);
        if (n < min) throw error(key, "an integer >= " + min, got(key, fallback));
        return n;
    }

    /** A 64-bit integer (e.g. a seed); {@code 1.7} is an error. */
    public long whole(String key, long fallback) {
        Object v = values.get(key);
        if (v == null) return fallback;
        if (v instanceof Integer || v instanceof Long || v instanceof Short || v instanceof Byte) return ((Number) v).longValue();
        String s = v.toString().trim();
        try {
            return Long.parseLong(s);
        } catch (NumberFormatException e) {
            // 3.0 and 1e3 are whole numbers; 1.7 and NaN are not
            try {
                double d = v instanceof Number n ? n.doubleValue() : Double.parseDouble(s);
                if (Double.isFinite(d) && d == Math.rint(d) && Math.abs(d) < 0x1p53) return (long) d;
            } catch (NumberFormatException ignored) {
                // not a number at all
            }
            throw error(key, "an integer", v);
        }
    }

    private Object got(String key, Object fallback) {
        Object v = values.get(key);
        return v == null ? fallback : v;
    }

    private static String range(double min, double max) {
        if (max == Double.MAX_VALUE) return "a number >= " + min;
        return "a number in [" + min + ", " + max + "]";
    }

    public boolean bool(String key, boolean fallback) {
        Object v = values.get(key);
        if (v == null) return fallback;
        if (v instanceof Boolean b) return b;
        String s = v.toString().trim().toLowerCase();
        if (s.equals("true") || s.equals("false")) return Boolean.parseBoolean(s);
        throw error(key, "true or false", v);
    }

    /** "0.1,0.1,0.5,1", double[], float[], int[], long[], Number[] or a List of numbers; every one finite. */
    public double[] reals(String key, double[] fallback) {
        Object v = values.get(key);
        if (v == null) return fallback.clone();
        double[] d = parseReals(key, v);
        for (double x : d) if (!Double.isFinite(x)) throw error(key, "a list of finite numbers", v);
        return d;
    }

    private double[] parseReals(String key, Object v) {
        try {
            if (v instanceof double[] a) return a.clone();
            if (v instanceof int[] a) return Arrays.stream(a).asDoubleStream().toArray();
            if (v instanceof long[] a) return Arrays.stream(a).asDoubleStream().toArray();
            if (v instanceof float[] a) {
                double[] d = new double[a.length];
                for (int i = 0; i < a.length; i++) d[i] = a[i];
                return d;
            }
            if (v instanceof Object[] a) return Arrays.stream(a).mapToDouble(o -> Double.parseDouble(o.toString().trim())).toArray();
            if (v instanceof List<?> l) return l.stream().mapToDouble(o -> Double.parseDouble(o.toString().trim())).toArray();
            String s = v.toString().replace("[", "").replace("]", "").replace("(", "").replace(")", "").trim();
            if (s.isEmpty()) return new double[0];
            return Arrays.stream(s.split("[,\\s]+")).mapToDouble(Double::parseDouble).toArray();
        } catch (NumberFormatException e) {
            throw error(key, "a list of numbers", v);
        }
    }

    /** Integer list, same forms as {@link #reals}. */
    public int[] integers(String key, int[] fallback) {
        double[] d = reals(key, Arrays.stream(fallback).asDoubleStream().toArray());
        int[] out = new int[d.length];
        for (int i = 0; i < d.length; i++) {
            if (d[i] != Math.rint(d[i])) throw error(key, "a list of integers", values.get(key));
            out[i] = (int) d[i];
        }
        return out;
    }

    /** Throws unless every key of this configuration is one of {@code known} (or OSGi bookkeeping); see {@link Keys}. */
    public void requireKnown(String prefix, Collection<String> known) {
        Keys.requireKnown(owner, prefix, values.keySet(), known);
    }

    /** A user error ({@link RetortConfigException}): "{@code owner}: {@code key} must be {@code expected}, got '{@code got}'". */
    public IllegalArgumentException error(String key, String expected, Object got) {
        return new RetortConfigException(owner + ": " + key + " must be " + expected + ", got '" + got + "'");
    }

    /** A user error ({@link RetortConfigException}): "{@code owner}: {@code message}". */
    public IllegalArgumentException invalid(String message) {
        return new RetortConfigException(owner + ": " + message);
    }
}
