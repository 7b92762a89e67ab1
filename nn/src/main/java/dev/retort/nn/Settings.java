package dev.retort.nn;

import java.util.Arrays;
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
        Map<String, Object> m = new java.util.HashMap<>(defaults);
        if (overrides != null) m.putAll(overrides);
        return new Settings(owner, m);
    }

    /** The raw value of a key, or null. */
    public Object raw(String key) {
        return values.get(key);
    }

    public double real(String key, double fallback) {
        Object v = values.get(key);
        if (v == null) return fallback;
        if (v instanceof Number n) return n.doubleValue();
        try {
            return Double.parseDouble(v.toString().trim());
        } catch (NumberFormatException e) {
            throw error(key, "a number", v);
        }
    }

    public int integer(String key, int fallback) {
        Object v = values.get(key);
        if (v == null) return fallback;
        if (v instanceof Number n) return n.intValue();
        try {
            return Integer.parseInt(v.toString().trim());
        } catch (NumberFormatException e) {
            throw error(key, "an integer", v);
        }
    }

    public boolean bool(String key, boolean fallback) {
        Object v = values.get(key);
        if (v == null) return fallback;
        if (v instanceof Boolean b) return b;
        String s = v.toString().trim().toLowerCase();
        if (s.equals("true") || s.equals("false")) return Boolean.parseBoolean(s);
        throw error(key, "true or false", v);
    }

    /** "0.1,0.1,0.5,1", double[], float[], Number[] or a List of numbers. */
    public double[] reals(String key, double[] fallback) {
        Object v = values.get(key);
        if (v == null) return fallback.clone();
        try {
            if (v instanceof double[] a) return a.clone();
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

    public IllegalArgumentException error(String key, String expected, Object got) {
        return new IllegalArgumentException(owner + ": " + key + " must be " + expected + ", got '" + got + "'");
    }

    public IllegalArgumentException invalid(String message) {
        return new IllegalArgumentException(owner + ": " + message);
    }
}
