package dev.retort.safetensors;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.zip.CRC32C;

/**
 * The per-tensor CRC32C checksums Retort writes into a safetensors file's metadata under {@link #KEY}: a JSON object
 * of tensor name to eight hex digits, the CRC32C (Castagnoli) of the tensor's raw little-endian bytes. Files written by
 * other tools, or by Retort before checksums, have no such entry and are read as before.
 */
public final class Checksums {
    /** The metadata key holding the checksums. */
    public static final String KEY = "retort.crc32c";

    private Checksums() {}

    /** The CRC32C of a buffer's remaining bytes (its position is left as it was). */
    public static int crc32c(ByteBuffer bytes) {
        CRC32C c = new CRC32C();
        c.update(bytes.duplicate());
        return (int) c.getValue();
    }

    static String format(Map<String, ByteBuffer> data) {
        JsonObject o = new JsonObject();
        data.forEach((name, b) -> o.addProperty(name, String.format("%08x", crc32c(b))));
        return o.toString();
    }

    /** The checksums of a file's metadata value; null when the file has none. */
    static Map<String, Integer> parse(Path path, String value) throws SafeTensorsException {
        if (value == null) return null;
        Map<String, Integer> out = new LinkedHashMap<>();
        try {
            JsonElement e = JsonParser.parseString(value);
            if (!e.isJsonObject()) throw new SafeTensorsException(path + ": metadata " + KEY + " is not a JSON object");
            for (Map.Entry<String, JsonElement> m : e.getAsJsonObject().entrySet()) {
                String hex = m.getValue().isJsonPrimitive() ? m.getValue().getAsString() : "";
                if (!hex.matches("[0-9a-f]{8}")) throw new SafeTensorsException(path + ": metadata " + KEY + " gives '" + hex + "' for " + m.getKey()
                        + ", not eight hex digits");
                out.put(m.getKey(), Integer.parseUnsignedInt(hex, 16));
            }
        } catch (JsonParseException e) {
            throw new SafeTensorsException(path + ": metadata " + KEY + " is not valid JSON (the header is damaged)");
        }
        return out;
    }
}
