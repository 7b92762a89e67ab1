package dev.retort.web;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.math.BigDecimal;
import java.nio.channels.Channels;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * A study folder's rows ({@code rows/arm-NNN-seed-S.json}, as {@code kd:ablate} writes them) for {@code GET /api/study}, read with limits: regular files only
 * (a symlink, folder, FIFO or device named like a row is skipped unopened), at most {@link #MAX_ROW_BYTES} each, at
 * most {@link #MAX_ROWS} of them, and every value checked (an mIoU in [0, 1], counts that are whole non-negative
 * numbers, finite times and losses). A bad row is skipped, listed in the answer's {@code skipped} and said once on
 * the console; a row is parsed again only when its size or modification time changes.
 */
final class StudyRows {
    /** The largest row file read (a row of 200,000 steps' two loss curves takes about 8 MB). */
    static final long MAX_ROW_BYTES = 16L << 20;
    /** Row files listed at most. */
    static final int MAX_ROWS = 1000;

    private record Seen(long size, FileTime modified, JsonObject row, String problem) {}

    private final Path folder;
    private final PrintStream console;
    private final Map<Path, Seen> seen = new HashMap<>();

    StudyRows(Path folder, PrintStream console) {
        this.folder = folder;
        this.console = console;
    }

    /** The answer of {@code /api/study}: the folder, its good rows (curves thinned) in arm order, the skipped files and why. */
    synchronized JsonObject json() throws IOException {
        JsonObject o = new JsonObject();
        o.addProperty("folder", folder.toString());
        JsonArray rows = new JsonArray(), skipped = new JsonArray();
        Path dir = folder.resolve("rows");
        if (Files.isDirectory(dir)) {
            List<Path> files;
            try (Stream<Path> list = Files.list(dir)) {
                files = list.filter(p -> p.getFileName().toString().matches("arm-\\d+(-seed-\\d+)?\\.(json|csv)")).sorted().limit(MAX_ROWS + 1L).toList();
            }
            if (files.size() > MAX_ROWS) {
                files = files.subList(0, MAX_ROWS);
                o.addProperty("truncated", "only the first " + MAX_ROWS + " rows are shown");
            }
            seen.keySet().retainAll(files);
            for (Path f : files) {
                Seen s = read(f);
                if (s.row() != null) {
                    rows.add(s.row());
                } else if (s.problem() != null) {
                    JsonObject x = new JsonObject();
                    x.addProperty("file", f.getFileName().toString());
                    x.addProperty("problem", s.problem());
                    skipped.add(x);
                }
            }
        }
        o.add("rows", rows);
        o.add("skipped", skipped);
        return o;
    }

    private Seen read(Path f) {
        BasicFileAttributes a;
        try {
            a = Files.readAttributes(f, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        } catch (IOException e) {
            return new Seen(-1, null, null, null);  // gone meanwhile
        }
        Seen before = seen.get(f);
        if (before != null && before.size() == a.size() && before.modified().equals(a.lastModifiedTime())) return before;
        String problem;
        JsonObject row = null;
        if (!a.isRegularFile()) {
            problem = "not a regular file (" + (a.isSymbolicLink() ? "a symbolic link" : a.isDirectory() ? "a folder" : "a FIFO, socket or device") + ")";
        } else if (a.size() > MAX_ROW_BYTES) {
            problem = String.format("%,d bytes, more than a row may hold (%,d)", a.size(), MAX_ROW_BYTES);
        } else {
            try {
                row = check(parse(f));
                problem = null;
            } catch (IOException | RuntimeException e) {
                problem = e.getMessage() == null ? "unreadable" : e.getMessage();
            }
        }
        Seen s = new Seen(a.size(), a.lastModifiedTime(), row, problem);
        if (problem != null) console.println("retort: web view: study row " + f + " skipped: " + problem);
        seen.put(f, s);
        return s;
    }

    private static JsonObject parse(Path f) throws IOException {
        byte[] bytes;
        // NOFOLLOW: a link put in place after the check above is not followed either
        try (InputStream in = Channels.newInputStream(Files.newByteChannel(f, StandardOpenOption.READ, LinkOption.NOFOLLOW_LINKS))) {
            bytes = in.readNBytes((int) MAX_ROW_BYTES + 1);
        }
        if (bytes.length > MAX_ROW_BYTES) throw new IOException("it grew past " + MAX_ROW_BYTES + " bytes while read");
        JsonElement e;
        try {
            e = JsonParser.parseString(new String(bytes, StandardCharsets.UTF_8));
        } catch (RuntimeException bad) {
            throw new IOException("not valid JSON (a row kd:ablate writes is one JSON object)");
        }
        if (!e.isJsonObject()) throw new IOException("not a JSON object");
        return e.getAsJsonObject();
    }

    /** The row with its curves thinned, once every value it shows was checked. */
    static JsonObject check(JsonObject row) {
        whole(row, "arm", 1, true);
        text(row, "name");
        text(row, "modules");
        fraction(row.get("miou"), "miou");
        whole(row, "params", 0, true);
        whole(row, "extra_params", 0, true);
        whole(row, "steps", 0, true);
        positive(row, "gflops", true);
        positive(row, "ms_per_step", false);
        positive(row, "wall_s", false);
        if (row.has("iou")) {
            if (!row.get("iou").isJsonObject()) throw new IllegalArgumentException("iou is not an object of class → IoU");
            row.getAsJsonObject("iou").entrySet().forEach(e -> fraction(e.getValue(), "iou." + e.getKey()));
        }
        int stride = 1;
        for (String key : List.of("losses", "ce_losses")) {
            if (!row.has(key)) continue;
            if (!row.get(key).isJsonArray()) throw new IllegalArgumentException(key + " is not a list of numbers");
            JsonArray all = row.getAsJsonArray(key);
            for (JsonElement v : all) {
                if (v.isJsonNull()) continue;  // a skipped (non-finite) step
                if (!v.isJsonPrimitive() || !v.getAsJsonPrimitive().isNumber() || !Double.isFinite(v.getAsDouble())) {
                    throw new IllegalArgumentException(key + " holds " + v + ", not a finite number");
                }
            }
            stride = Math.max(1, (all.size() + Json.MAX_CURVE_POINTS - 1) / Json.MAX_CURVE_POINTS);
            row.add(key, Json.thin(all, stride));
        }
        row.addProperty("loss_stride", stride);
        return row;
    }

    private static void text(JsonObject row, String key) {
        JsonElement v = row.get(key);
        if (v == null || !v.isJsonPrimitive() || !v.getAsJsonPrimitive().isString()) throw new IllegalArgumentException(key + " is missing or not text");
    }

    private static void fraction(JsonElement v, String key) {
        double x = number(v, key);
        if (!(x >= 0 && x <= 1)) throw new IllegalArgumentException(key + " is " + v + ", not a fraction in [0, 1]");
    }

    private static void positive(JsonObject row, String key, boolean required) {
        JsonElement v = row.get(key);
        if (v == null || v.isJsonNull()) {
            if (required) throw new IllegalArgumentException(key + " is missing");
            return;
        }
        double x = number(v, key);
        if (x < 0) throw new IllegalArgumentException(key + " is " + v + ", a negative number");
    }

    private static void whole(JsonObject row, String key, long least, boolean required) {
        JsonElement v = row.get(key);
        if (v == null) {
            if (required) throw new IllegalArgumentException(key + " is missing");
            return;
        }
        number(v, key);
        BigDecimal d = v.getAsBigDecimal();
        try {
            long n = d.longValueExact();
            if (n < least) throw new IllegalArgumentException(key + " is " + v + ", less than " + least);
        } catch (ArithmeticException e) {
            throw new IllegalArgumentException(key + " is " + v + ", not a whole number in range");
        }
    }

    private static double number(JsonElement v, String key) {
        if (v == null || !v.isJsonPrimitive() || !v.getAsJsonPrimitive().isNumber()) throw new IllegalArgumentException(key + " is " + v + ", not a number");
        double x = v.getAsDouble();
        if (!Double.isFinite(x)) throw new IllegalArgumentException(key + " is " + v + ", not a finite number");
        return x;
    }
}
