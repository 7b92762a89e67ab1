package dev.retort.safetensors;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SafeTensorsTest {
    @TempDir
    Path dir;

    @Test
    void roundTripsEveryWrittenType() throws IOException {
        float[] values = {0f, -1.5f, 3.140625f, 65504f, 1e-7f, -2.5e-5f};
        Path file = dir.resolve("t.safetensors");
        new SafeTensorsWriter().metadata("format", "test")
                .add("f32", new long[] {2, 3}, values, DType.F32)
                .add("f16", new long[] {6}, values, DType.F16)
                .add("bf16", new long[] {3, 2}, values, DType.BF16)
                .add("labels", new long[] {2}, new long[] {7, -3}, DType.I64)
                .write(file);
        try (SafeTensorsFile f = SafeTensorsFile.open(file)) {
            assertEquals("test", f.metadata().get("format"));
            assertArrayEquals(values, f.readFloats("f32"));
            assertArrayEquals(new long[] {3, 2}, f.info("bf16").shape());
            float[] half = f.readFloats("f16");
            float[] bf = f.readFloats("bf16");
            for (int i = 0; i < values.length; i++) {
                assertEquals(values[i], half[i], Math.max(Math.abs(values[i]) * 1e-3, 6e-8), "f16 " + i);
                assertEquals(values[i], bf[i], Math.abs(values[i]) * 8e-3, "bf16 " + i);
            }
            assertArrayEquals(new long[] {7, -3}, f.readLongs("labels"));
        }
        assertEquals(0, Files.list(dir).filter(p -> p.toString().endsWith(".tmp")).count(), "no temporary file left");
    }

    @Test
    void roundingInPlaceGivesWhatAWriteAndAReadGive() throws IOException {
        // bf16 keeps 8 significant bits (step 2^-7 near 1): 1 + 2^-8 is a tie between 1 and 1 + 2^-7 and goes to the even one (1);
        // 1 + 3·2^-9 is nearer 1 + 2^-7 than 1; 3.140625 = 0x40490000 is exact; -1 - 2^-7 - 2^-9 is nearer -1 - 2^-7.
        float[] values = {1f + 0x1p-8f, 1f + 3 * 0x1p-9f, 3.140625f, -1f - 0x1p-7f - 0x1p-9f, 0f};
        float[] expected = {1f, 1f + 0x1p-7f, 3.140625f, -1f - 0x1p-7f, 0f};
        float[] rounded = values.clone();
        DType.BF16.roundInPlace(rounded);
        assertArrayEquals(expected, rounded);
        Path file = dir.resolve("r.safetensors");
        new SafeTensorsWriter().add("x", new long[] {values.length}, values, DType.BF16).write(file);
        try (SafeTensorsFile f = SafeTensorsFile.open(file)) {
            assertArrayEquals(rounded, f.readFloats("x"));
        }
        float[] same = values.clone();
        DType.F32.roundInPlace(same);
        assertArrayEquals(values, same);
        assertThrows(IllegalArgumentException.class, () -> DType.I64.roundInPlace(values.clone()));
    }

    @Test
    void aWriteThatFailsHalfwayLeavesThePreviousFileIntact() throws IOException {
        Path file = dir.resolve("ckpt.safetensors");
        new SafeTensorsWriter().add("w", new long[] {2}, new float[] {1f, 2f}, DType.F32).write(file);
        byte[] before = Files.readAllBytes(file);
        // the header is written, then encoding the second tensor fails (an I32 value out of range)
        SafeTensorsWriter broken = new SafeTensorsWriter().add("w", new long[] {2}, new float[] {3f, 4f}, DType.F32)
                .add("n", new long[] {1}, new long[] {1L << 40}, DType.I32);
        assertThrows(ArithmeticException.class, () -> broken.write(file));
        assertArrayEquals(before, Files.readAllBytes(file));
        try (SafeTensorsFile f = SafeTensorsFile.open(file)) {
            assertArrayEquals(new float[] {1f, 2f}, f.readFloats("w"));
        }
        try (var files = Files.list(dir)) {
            assertEquals(1, files.count(), "no temporary file left behind");
        }
    }

    @Test
    void halfPrecisionConversionsAreExactWhereRepresentable() {
        for (float v : new float[] {0f, 1f, -2f, 0.5f, 1024f, 65504f, 6.103515625e-5f, 5.9604645e-8f}) {
            assertEquals(v, Half.f16ToFloat(Half.floatToF16(v)), "f16 " + v);
        }
        assertEquals(Float.POSITIVE_INFINITY, Half.f16ToFloat(Half.floatToF16(1e6f)));
        assertTrue(Float.isNaN(Half.f16ToFloat(Half.floatToF16(Float.NaN))));
        assertEquals(1.0f, Half.bf16ToFloat(Half.floatToBf16(1.0f)));
        assertEquals(1.0078125f, Half.bf16ToFloat(Half.floatToBf16(1.005f)));  // nearest bf16
    }

    @Test
    void readsTheSharedFixtures() throws IOException {
        Path fixture = Path.of(System.getProperty("retort.fixtures"), "transkd-parity", "mit-b0.io.safetensors");
        try (SafeTensorsFile f = SafeTensorsFile.open(fixture)) {
            assertArrayEquals(new long[] {2, 3, 64, 128}, f.info("input").shape());
            float[] input = f.readFloats("input");
            assertTrue(Arrays.stream(toDouble(input)).allMatch(v -> v >= 0 && v <= 1));
        }
    }

    @Test
    void rejectsATruncatedFileNamingTheTensor() throws IOException {
        Path file = dir.resolve("t.safetensors");
        new SafeTensorsWriter().add("weight", new long[] {4, 4}, new float[16], DType.F32).write(file);
        byte[] bytes = Files.readAllBytes(file);
        Files.write(file, Arrays.copyOf(bytes, bytes.length - 5));
        var e = assertThrows(SafeTensorsException.class, () -> SafeTensorsFile.open(file));
        assertTrue(e.getMessage().contains("weight") && e.getMessage().contains(file.toString()), e.getMessage());
    }

    @Test
    void rejectsAnOversizedOrAbsurdHeaderLength() throws IOException {
        Path file = dir.resolve("huge.safetensors");
        ByteBuffer b = ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putLong(1L << 40).put("{}      ".getBytes());
        Files.write(file, b.array());
        var e = assertThrows(SafeTensorsException.class, () -> SafeTensorsFile.open(file));
        assertTrue(e.getMessage().contains("header length"), e.getMessage());
        Files.write(file, new byte[3]);
        assertThrows(SafeTensorsException.class, () -> SafeTensorsFile.open(file));
        assertThrows(SafeTensorsException.class, () -> SafeTensorsFile.open(dir.resolve("missing.safetensors")));
    }

    @Test
    void rejectsInconsistentHeaders() throws IOException {
        assertRejected("{\"w\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", 8, "needs 12 bytes");
        assertRejected("{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"v\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8, "overlap");
        assertRejected("{\"w\":{\"dtype\":\"Q4\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8, "unsupported dtype");
        assertRejected("{\"w\":{\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,8]}}", 8, "negative");
        assertRejected("{\"w\": not json", 8, "JSON");
        assertRejected("[1,2]", 8, "not a JSON object");
    }

    @Test
    void aFlippedDataByteIsRefusedNamingTheFileAndTheTensor() throws IOException {
        Path file = dir.resolve("t.safetensors");
        new SafeTensorsWriter().add("a", new long[] {4}, new float[] {1, 2, 3, 4}, DType.F32)
                .add("b", new long[] {2}, new float[] {5, 6}, DType.F32).write(file);
        byte[] bytes = Files.readAllBytes(file);
        // the last byte belongs to 'b' (written after 'a'): a finite change (6.0f's top byte 0x40 becomes 0x41)
        bytes[bytes.length - 1] ^= 0x01;
        Files.write(file, bytes);
        try (SafeTensorsFile f = SafeTensorsFile.open(file)) {
            assertTrue(f.hasChecksums());
            assertArrayEquals(new float[] {1, 2, 3, 4}, f.readFloats("a"), "an intact tensor of the file still reads");
            var e = assertThrows(SafeTensorsException.class, () -> f.readFloats("b"));
            assertTrue(e.getMessage().contains(file.toString()) && e.getMessage().contains("'b'") && e.getMessage().contains("CRC32C"), e.getMessage());
            assertThrows(SafeTensorsException.class, f::verify);
        }
    }

    @Test
    void aFileWithoutChecksumsReadsAsBefore() throws IOException {
        Path file = dir.resolve("old.safetensors");
        byte[] json = "{\"__metadata__\":{\"format\":\"old\"},\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}".getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(8 + json.length + 8).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(json.length).put(json).putFloat(1.5f).putFloat(-2f);
        Files.write(file, b.array());
        try (SafeTensorsFile f = SafeTensorsFile.open(file)) {
            assertFalse(f.hasChecksums());
            f.verify();
            assertArrayEquals(new float[] {1.5f, -2f}, f.readFloats("w"));
            assertEquals("old", f.metadata().get("format"));
        }
    }

    @Test
    void checksumsThatDoNotListTheTensorsAreRefused() throws IOException {
        assertRejected("{\"__metadata__\":{\"" + Checksums.KEY + "\":\"{\\\"v\\\":\\\"00000000\\\"}\"},"
                + "\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8, "do not list");
        assertRejected("{\"__metadata__\":{\"" + Checksums.KEY + "\":\"{\\\"w\\\":\\\"xyz\\\"}\"},"
                + "\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8, "eight hex digits");
    }

    private void assertRejected(String header, int dataBytes, String expected) throws IOException {
        Path file = dir.resolve("bad.safetensors");
        byte[] json = header.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(8 + json.length + dataBytes).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(json.length).put(json);
        Files.write(file, b.array());
        var e = assertThrows(SafeTensorsException.class, () -> SafeTensorsFile.open(file));
        assertTrue(e.getMessage().contains(expected) && e.getMessage().contains("bad.safetensors"), e.getMessage());
    }

    private static double[] toDouble(float[] a) {
        double[] d = new double[a.length];
        for (int i = 0; i < a.length; i++) d[i] = a[i];
        return d;
    }
}
