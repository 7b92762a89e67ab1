package dev.retort.study;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.IOException;
import java.io.InputStream;
import java.math.BigDecimal;
import java.nio.channels.Channels;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads one cell's row ({@code rows/arm-NNN-seed-S.json}; {@code rows/arm-NNN.json} before seeds) for {@code kd:ablate --merge}, trusting nothing in it: a regular
 * file (not a link, folder or FIFO) of at most {@link #MAX_ROW_BYTES}, one JSON object whose every value is checked:
 * the arm a whole number ≥ 1, the seed (when present) a whole number, name and modules printable text, mIoU and per-class IoU fractions in [0, 1], parameter
 * and step counts whole non-negative numbers, GFLOPs and times finite and non-negative, losses finite (or null for a
 * skipped step). A bad value is an error naming the file and the key.
 */
final class RowReader {
    /** The largest row file read (a row of 200,000 steps' two loss curves takes about 8 MB). */
    static final long MAX_ROW_BYTES = 16L << 20;

    private final Path file;
    private final JsonObject o;

    private RowReader(Path file, JsonObject o) {
        this.file = file;
        this.o = o;
    }

    static Study.Row read(Path file) throws IOException {
        BasicFileAttributes a = Files.readAttributes(file, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        if (!a.isRegularFile()) {
            throw new IOException(file + " is not a row: not a regular file (" + (a.isSymbolicLink() ? "a symbolic link" : a.isDirectory() ? "a folder"
                    : "a FIFO, socket or device") + ")");
        }
        if (a.size() > MAX_ROW_BYTES) throw new IOException(String.format("%s is not a row: %,d bytes, more than a row may hold (%,d)", file, a.size(), MAX_ROW_BYTES));
        byte[] bytes;
        try (InputStream in = Channels.newInputStream(Files.newByteChannel(file, StandardOpenOption.READ, LinkOption.NOFOLLOW_LINKS))) {
            bytes = in.readNBytes((int) MAX_ROW_BYTES + 1);
        }
        if (bytes.length > MAX_ROW_BYTES) throw new IOException(file + " is not a row: it grew past " + MAX_ROW_BYTES + " bytes while read");
        JsonElement e;
        try {
            e = JsonParser.parseString(new String(bytes, StandardCharsets.UTF_8));
        } catch (RuntimeException bad) {
            throw new IOException(file + " is not a row written by kd:ablate: not valid JSON");
        }
        if (!e.isJsonObject()) throw new IOException(file + " is not a row written by kd:ablate: not a JSON object");
        return new RowReader(file, e.getAsJsonObject()).row();
    }

    private Study.Row row() throws IOException {
        Map<String, Double> iou = new LinkedHashMap<>();
        JsonElement classes = o.get("iou");
        if (classes == null || !classes.isJsonObject()) throw bad("iou", classes, "an object of class → IoU");
        for (Map.Entry<String, JsonElement> c : classes.getAsJsonObject().entrySet()) {
            printable("iou." + c.getKey(), c.getKey());
            iou.put(c.getKey(), fraction("iou." + c.getKey(), c.getValue()));
        }
        JsonElement ms = o.get("ms_per_step");
        return new Study.Row((int) whole("arm", 1, Integer.MAX_VALUE), text("name"), o.has("seed") ? whole("seed", Long.MIN_VALUE, Long.MAX_VALUE) : -1, text("modules"), o.has("configuration") ? text("configuration") : "",
                fraction("miou", o.get("miou")), whole("params", 0, Long.MAX_VALUE), nonNegative("gflops", o.get("gflops")),
                whole("extra_params", 0, Long.MAX_VALUE), ms == null || ms.isJsonNull() ? Double.NaN : nonNegative("ms_per_step", ms),
                o.has("wall_s") ? nonNegative("wall_s", o.get("wall_s")) : Double.NaN, whole("steps", 0, Long.MAX_VALUE), iou,
                losses("losses"), losses("ce_losses"));
    }

    private IOException bad(String key, JsonElement v, String expected) {
        return new IOException(file + ": " + key + " is " + (v == null ? "missing" : shortly(v)) + ", not " + expected);
    }

    private static String shortly(JsonElement v) {
        String s = v.toString();
        return s.length() > 60 ? s.substring(0, 60) + "…" : s;
    }

    private String text(String key) throws IOException {
        JsonElement v = o.get(key);
        if (v == null || !v.isJsonPrimitive() || !v.getAsJsonPrimitive().isString()) throw bad(key, v, "text");
        return printable(key, v.getAsString());
    }

    private String printable(String key, String s) throws IOException {
        for (int i = 0; i < s.length(); i++) {
            if (Character.isISOControl(s.charAt(i))) throw new IOException(file + ": " + key + " holds a control character (code " + (int) s.charAt(i) + ")");
        }
        return s;
    }

    private double number(String key, JsonElement v, String expected) throws IOException {
        if (v == null || !v.isJsonPrimitive() || !v.getAsJsonPrimitive().isNumber()) throw bad(key, v, expected);
        double x = v.getAsDouble();
        if (!Double.isFinite(x)) throw bad(key, v, expected);
        return x;
    }

    private double fraction(String key, JsonElement v) throws IOException {
        double x = number(key, v, "a fraction in [0, 1]");
        if (x < 0 || x > 1) throw bad(key, v, "a fraction in [0, 1]");
        return x;
    }

    private double nonNegative(String key, JsonElement v) throws IOException {
        double x = number(key, v, "a finite number ≥ 0");
        if (x < 0) throw bad(key, v, "a finite number ≥ 0");
        return x;
    }

    private long whole(String key, long least, long most) throws IOException {
        JsonElement v = o.get(key);
        String expected = "a whole number from " + least + (most == Long.MAX_VALUE ? " up" : " to " + most);
        number(key, v, expected);
        try {
            BigDecimal d = v.getAsBigDecimal();
            long n = d.longValueExact();
            if (n < least || n > most) throw bad(key, v, expected);
            return n;
        } catch (ArithmeticException | NumberFormatException e) {
            throw bad(key, v, expected);
        }
    }

    private List<Double> losses(String key) throws IOException {
        List<Double> values = new ArrayList<>();
        JsonElement v = o.get(key);
        if (v == null) return values;
        if (!v.isJsonArray()) throw bad(key, v, "a list of numbers");
        JsonArray a = v.getAsJsonArray();
        for (int i = 0; i < a.size(); i++) {
            JsonElement x = a.get(i);
            values.add(x.isJsonNull() ? Double.NaN : number(key + "[" + i + "]", x, "a finite number (or null for a skipped step)"));
        }
        return values;
    }
}
