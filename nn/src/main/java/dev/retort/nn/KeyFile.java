package dev.retort.nn;

import dev.retort.api.error.RetortConfigException;
import java.io.IOException;
import java.io.StringReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;

/**
 * A key file in {@link Properties} syntax (run files, ablation files) read with each key's line, so that a key
 * given twice is an error naming both lines rather than the last one silently winning. Each logical line (natural
 * lines joined by a trailing backslash) goes through {@link Properties#load} itself, so escapes, separators and
 * comments mean exactly what they mean there.
 */
public final class KeyFile {
    /** One key, its value (both stripped) and the line (1-based) it starts on. */
    public record Entry(String key, String value, int line) {}

    private KeyFile() {}

    /** The entries of {@code file} in file order; a key given twice is refused with both lines. */
    public static List<Entry> read(Path file) throws IOException {
        List<Entry> entries = parse(file.toString(), Files.readString(file, StandardCharsets.UTF_8));
        Map<String, Entry> seen = new LinkedHashMap<>();
        for (Entry e : entries) {
            Entry before = seen.putIfAbsent(e.key(), e);
            if (before != null) throw duplicate(file.toString(), e.key(), before, e);
        }
        return entries;
    }

    /** The error for a key given twice (also for keys a caller treats as the same, e.g. arm.1.x and arm.01.x). */
    public static RetortConfigException duplicate(String file, String key, Entry first, Entry second) {
        return new RetortConfigException(file + ": " + key + " is given twice, on line " + first.line() + " ("
                + first.key() + " = " + first.value() + ") and on line " + second.line() + " (" + second.key() + " = " + second.value()
                + "); keep one");
    }

    static List<Entry> parse(String name, String text) throws IOException {
        List<Entry> out = new ArrayList<>();
        String[] lines = text.split("\r\n|\r|\n", -1);
        for (int i = 0; i < lines.length; i++) {
            int start = i;
            StringBuilder logical = new StringBuilder(lines[i]);
            String first = lines[i].stripLeading();
            if (first.isEmpty() || first.startsWith("#") || first.startsWith("!")) continue;
            while (continues(lines[i]) && i + 1 < lines.length) {
                i++;
                logical.append('\n').append(lines[i]);
            }
            Properties p = new Properties();
            p.load(new StringReader(logical.toString()));
            for (String k : p.stringPropertyNames()) out.add(new Entry(k.strip(), p.getProperty(k).strip(), start + 1));
        }
        return out;
    }

    /** A natural line ending in an odd number of backslashes continues on the next one. */
    private static boolean continues(String line) {
        int n = 0;
        for (int j = line.length() - 1; j >= 0 && line.charAt(j) == '\\'; j--) n++;
        return n % 2 == 1;
    }
}
