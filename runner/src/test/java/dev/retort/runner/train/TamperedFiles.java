package dev.retort.runner.train;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.retort.safetensors.Checksums;
import dev.retort.safetensors.SafeTensorsFile;
import dev.retort.safetensors.TensorInfo;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/** Damage done to real safetensors files the way a disk, a copy or a hand does it, for the integrity tests. */
public final class TamperedFiles {
    private TamperedFiles() {}

    /** Flips the lowest bit of the first value of {@code tensor} (a float32 stays finite and changes by one ulp). */
    public static void flipByte(Path file, String tensor) throws IOException {
        long at;
        try (SafeTensorsFile f = SafeTensorsFile.open(file)) {
            TensorInfo t = f.info(tensor);
            at = 8 + headerLength(file) + t.begin();
        }
        byte[] bytes = Files.readAllBytes(file);
        bytes[(int) at] ^= 0x01;
        Files.write(file, bytes);
    }

    /** Rewrites {@code file} as written before checksums: the same header and data, without {@link Checksums#KEY}. */
    public static void withoutChecksums(Path file) throws IOException {
        byte[] bytes = Files.readAllBytes(file);
        long length = headerLength(file);
        JsonObject header = JsonParser.parseString(new String(bytes, 8, (int) length, StandardCharsets.UTF_8)).getAsJsonObject();
        header.getAsJsonObject("__metadata__").remove(Checksums.KEY);
        byte[] json = header.toString().getBytes(StandardCharsets.UTF_8);
        int padded = (json.length + 7) / 8 * 8;
        ByteBuffer out = ByteBuffer.allocate(8 + padded + bytes.length - 8 - (int) length).order(ByteOrder.LITTLE_ENDIAN);
        out.putLong(padded).put(json);
        while (out.position() < 8 + padded) out.put((byte) ' ');
        out.put(bytes, 8 + (int) length, bytes.length - 8 - (int) length);
        Files.write(file, out.array());
    }

    private static long headerLength(Path file) throws IOException {
        byte[] head = new byte[8];
        try (var in = Files.newInputStream(file)) {
            if (in.readNBytes(head, 0, 8) != 8) throw new IOException(file + " is too short");
        }
        return ByteBuffer.wrap(head).order(ByteOrder.LITTLE_ENDIAN).getLong();
    }
}
