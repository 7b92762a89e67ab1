package dev.retort.pytorch;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.zip.CRC32;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

/**
 * Writes files as {@code torch.save} does (zip format, pickle protocol 2, {@code _rebuild_tensor_v2}), for tests that need
 * variants the fixtures do not have (views past their storage, missing records, compressed entries) and for the
 * benchmark's MiT-B5-sized checkpoint. Tests check the reader against files written by real PyTorch, never only these.
 */
public final class TorchSaveWriter {
    /** One tensor: a view of storage {@code key} of {@code elements} float32 values. */
    public record Spec(String name, String key, String storageType, long elements, long offset, long[] size, long[] stride) {}

    private TorchSaveWriter() {}

    /** A contiguous float32 state dict, one storage per tensor, as torch.save writes it. */
    public static void writeStateDict(Path file, Map<String, float[]> values, Map<String, long[]> shapes) throws IOException {
        List<Spec> specs = new java.util.ArrayList<>();
        Map<String, byte[]> entries = new LinkedHashMap<>();
        String archive = "archive";
        int i = 0;
        for (Map.Entry<String, float[]> e : values.entrySet()) {
            long[] shape = shapes.get(e.getKey());
            specs.add(new Spec(e.getKey(), String.valueOf(i), "FloatStorage", e.getValue().length, 0, shape, contiguousStrides(shape)));
            i++;
        }
        entries.put(archive + "/data.pkl", stateDictPickle(specs));
        entries.put(archive + "/byteorder", "little".getBytes(StandardCharsets.US_ASCII));
        i = 0;
        for (float[] v : values.values()) {
            ByteBuffer b = ByteBuffer.allocate(v.length * 4).order(ByteOrder.LITTLE_ENDIAN);
            b.asFloatBuffer().put(v);
            entries.put(archive + "/data/" + i++, b.array());
        }
        entries.put(archive + "/version", "3\n".getBytes(StandardCharsets.US_ASCII));
        zip(file, entries, Set.of());
    }

    public static long[] contiguousStrides(long[] shape) {
        long[] s = new long[shape.length];
        long n = 1;
        for (int d = shape.length - 1; d >= 0; d--) {
            s[d] = n;
            n *= shape[d];
        }
        return s;
    }

    /** The data.pkl of an OrderedDict of tensors, as torch.save pickles a state dict (without memo entries). */
    public static byte[] stateDictPickle(List<Spec> specs) {
        ByteArrayOutputStream o = new ByteArrayOutputStream();
        o.write(0x80);
        o.write(2);
        global(o, "collections", "OrderedDict");
        o.write(')');
        o.write('R');
        o.write('(');
        for (Spec s : specs) {
            unicode(o, s.name());
            global(o, "torch._utils", "_rebuild_tensor_v2");
            o.write('(');
            o.write('(');
            unicode(o, "storage");
            global(o, "torch", s.storageType());
            unicode(o, s.key());
            unicode(o, "cpu");
            integer(o, s.elements());
            o.write('t');
            o.write('Q');
            integer(o, s.offset());
            tuple(o, s.size());
            tuple(o, s.stride());
            o.write(0x89);
            global(o, "collections", "OrderedDict");
            o.write(')');
            o.write('R');
            o.write('t');
            o.write('R');
        }
        o.write('u');
        o.write('.');
        return o.toByteArray();
    }

    private static void tuple(ByteArrayOutputStream o, long[] values) {
        o.write('(');
        for (long v : values) integer(o, v);
        o.write('t');
    }

    static void integer(ByteArrayOutputStream o, long v) {
        if (v >= Integer.MIN_VALUE && v <= Integer.MAX_VALUE) {
            o.write('J');
            o.writeBytes(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt((int) v).array());
        } else {
            o.write(0x8a);
            o.write(8);
            o.writeBytes(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(v).array());
        }
    }

    static void unicode(ByteArrayOutputStream o, String s) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        o.write('X');
        o.writeBytes(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(b.length).array());
        o.writeBytes(b);
    }

    static void global(ByteArrayOutputStream o, String module, String name) {
        o.write('c');
        o.writeBytes((module + "\n" + name + "\n").getBytes(StandardCharsets.US_ASCII));
    }

    /** A zip of the entries in order, stored unless named in {@code deflated}. */
    public static void zip(Path file, Map<String, byte[]> entries, Set<String> deflated) throws IOException {
        try (OutputStream out = Files.newOutputStream(file); ZipOutputStream z = new ZipOutputStream(out)) {
            for (Map.Entry<String, byte[]> e : entries.entrySet()) {
                ZipEntry entry = new ZipEntry(e.getKey());
                if (deflated.contains(e.getKey())) {
                    entry.setMethod(ZipEntry.DEFLATED);
                } else {
                    entry.setMethod(ZipEntry.STORED);
                    entry.setSize(e.getValue().length);
                    entry.setCompressedSize(e.getValue().length);
                    CRC32 crc = new CRC32();
                    crc.update(e.getValue());
                    entry.setCrc(crc.getValue());
                }
                z.putNextEntry(entry);
                z.write(e.getValue());
                z.closeEntry();
            }
        }
    }

    /** The entries of a zip written by {@link #zip} or torch.save, in order. */
    public static Map<String, byte[]> entries(Path file) throws IOException {
        Map<String, byte[]> m = new LinkedHashMap<>();
        try (java.util.zip.ZipFile z = new java.util.zip.ZipFile(file.toFile())) {
            var it = z.entries();
            while (it.hasMoreElements()) {
                ZipEntry e = it.nextElement();
                m.put(e.getName(), z.getInputStream(e).readAllBytes());
            }
        }
        return m;
    }
}
