package dev.retort.pytorch;

import static dev.retort.pytorch.FixtureCheckpointsTest.DIR;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.StandardOpenOption;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Damaged and hostile variants of real checkpoints: cut at every region, bytes flipped in the pickle and the zip
 * directory, views and sizes past the end, a zip-bomb-like entry. Each must end in a {@link CheckpointException} that
 * names the file and the problem (or, for a flip that leaves a valid file, a file that reads), never another exception,
 * a hang or an out-of-memory.
 */
class CorruptedCheckpointsTest {
    @TempDir
    Path tmp;

    /** Opens and reads every tensor; returns null when that worked, else the CheckpointException. Anything else fails the test. */
    static CheckpointException attempt(Path file) {
        try (TorchCheckpoint c = TorchCheckpoint.open(file)) {
            for (var e : c.tensors().entrySet()) {
                if (e.getValue().dtype().floating()) c.readFloats(e.getKey());
                else c.readLongs(e.getKey());
            }
            return null;
        } catch (CheckpointException e) {
            assertTrue(e.getMessage().contains(file.toString()), "the message names the file: " + e.getMessage());
            return e;
        } catch (Throwable t) {
            throw new AssertionError(file + ": not a clear refusal but " + t, t);
        }
    }

    static CheckpointException refused(Path file, String... words) {
        CheckpointException e = attempt(file);
        if (e == null) fail(file + " was read, but should have been refused");
        for (String w : words) assertTrue(e.getMessage().contains(w), "'" + w + "' not in: " + e.getMessage());
        return e;
    }

    /**
     * Cut positions, longest first: every byte of small files; of larger ones every byte of the first and last 2 KB
     * (header, pickle start; zip end records) and every 211th byte between (pickles, storage records, zip directory).
     */
    static List<Integer> cuts(int length) {
        List<Integer> out = new ArrayList<>();
        for (int i = length - 1; i >= 0; i--) {
            if (length <= 8192 || i < 2048 || i >= length - 2048 || i % 211 == 0) out.add(i);
        }
        return out;
    }

    @ParameterizedTest
    @ValueSource(strings = {"layouts.pth", "layouts.legacy.pth", "mit-tiny.pth", "mit-tiny.legacy.pth", "transkd-checkpoint.pth.tar"})
    void aFileCutAnywhereIsRefused(String name) throws Exception {
        Path cut = tmp.resolve("cut-" + name);
        Files.copy(DIR.resolve(name), cut);
        int length = (int) Files.size(cut);
        assertTimeoutPreemptively(Duration.ofMinutes(3), () -> {
            for (int n : cuts(length)) {
                try (FileChannel ch = FileChannel.open(cut, StandardOpenOption.WRITE)) {
                    ch.truncate(n);  // the cuts come longest first, so each one shortens the copy
                }
                if (attempt(cut) == null) fail(name + " cut to " + n + " of " + length + " bytes was read as if whole");
            }
        });
    }

    @Test
    void flippedBytesInALegacyPickleAreRefusedOrHarmless() throws Exception {
        byte[] whole = Files.readAllBytes(DIR.resolve("layouts.legacy.pth"));
        int pickles = storagesStart(whole);
        Path flipped = tmp.resolve("flipped.legacy.pth");
        int refused = 0;
        for (int i = 0; i < pickles; i++) {
            byte[] b = whole.clone();
            b[i] ^= (byte) 0xff;
            Files.write(flipped, b);
            if (attempt(flipped) != null) refused++;
        }
        assertTrue(refused > pickles / 2, refused + " of " + pickles + " flips refused");
    }

    @Test
    void flippedBytesInAZipPickleWithAValidCrcAreRefusedOrHarmless() throws Exception {
        Map<String, byte[]> entries = TorchSaveWriter.entries(DIR.resolve("layouts.pth"));
        byte[] pkl = entries.get("layouts/data.pkl");
        Path flipped = tmp.resolve("flipped.pth");
        int refused = 0;
        for (int i = 0; i < pkl.length; i++) {
            Map<String, byte[]> e = new LinkedHashMap<>(entries);
            byte[] b = pkl.clone();
            b[i] ^= (byte) 0xff;
            e.put("layouts/data.pkl", b);
            TorchSaveWriter.zip(flipped, e, Set.of());
            if (attempt(flipped) != null) refused++;
        }
        assertTrue(refused > pkl.length / 2, refused + " of " + pkl.length + " flips refused");
    }

    @Test
    void aFlippedPickleByteFailsTheCrcCheck() throws Exception {
        byte[] whole = Files.readAllBytes(DIR.resolve("layouts.pth"));
        int at = indexOf(whole, "layouts/data.pkl".getBytes(StandardCharsets.US_ASCII)) + 16 + 100;  // inside the stored pickle
        whole[at] ^= 1;
        Path f = tmp.resolve("crc.pth");
        Files.write(f, whole);
        refused(f, "data.pkl", "CRC");
    }

    @Test
    void flippedBytesInTheZipDirectoryAreRefusedOrHarmless() throws Exception {
        byte[] whole = Files.readAllBytes(DIR.resolve("layouts.pth"));
        Path flipped = tmp.resolve("flipped-dir.pth");
        int start = indexOf(whole, new byte[] {'P', 'K', 1, 2});
        for (int i = start; i < whole.length; i++) {
            byte[] b = whole.clone();
            b[i] ^= (byte) 0xff;
            Files.write(flipped, b);
            attempt(flipped);
        }
    }

    @Test
    void aLegacyStorageCountThatDisagreesIsRefused() throws Exception {
        byte[] b = Files.readAllBytes(DIR.resolve("layouts.legacy.pth"));
        int at = storagesStart(b);
        ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).putLong(at, 1L << 40);
        Path f = tmp.resolve("count.legacy.pth");
        Files.write(f, b);
        refused(f, "elements where the pickle declares");
    }

    // ---- crafted files --------------------------------------------------------------------------------------------

    private Path craft(String name, List<TorchSaveWriter.Spec> specs, Map<String, byte[]> records, Set<String> deflated) throws Exception {
        Map<String, byte[]> entries = new LinkedHashMap<>();
        entries.put("crafted/data.pkl", TorchSaveWriter.stateDictPickle(specs));
        records.forEach((k, v) -> entries.put("crafted/data/" + k, v));
        Path f = tmp.resolve(name);
        TorchSaveWriter.zip(f, entries, deflated);
        return f;
    }

    private static TorchSaveWriter.Spec spec(long elements, long offset, long[] size, long[] stride) {
        return new TorchSaveWriter.Spec("w", "0", "FloatStorage", elements, offset, size, stride);
    }

    @Test
    void viewsAndSizesPastTheirStorageAreRefused() throws Exception {
        Map<String, byte[]> forty = Map.of("0", new byte[40]);
        refused(craft("view.pth", List.of(spec(10, 0, new long[] {4, 4}, new long[] {4, 1})), forty, Set.of()),
                "tensor 'w'", "reaches element 15 of storage '0', which holds 10");
        refused(craft("offset.pth", List.of(spec(10, 8, new long[] {4}, new long[] {1})), forty, Set.of()), "reaches element 11");
        refused(craft("empty-offset.pth", List.of(spec(10, 11, new long[] {0}, new long[] {1})), forty, Set.of()), "storage offset 11 lies past");
        refused(craft("stride.pth", List.of(spec(10, 0, new long[] {2, 2}, new long[] {-1, 1})), forty, Set.of()), "negative entry");
        refused(craft("overflow.pth", List.of(spec(10, 0, new long[] {1L << 40, 1L << 40}, new long[] {1, 1})), forty, Set.of()), "overflows");
        refused(craft("short.pth", List.of(spec(100, 0, new long[] {100}, new long[] {1})), forty, Set.of()),
                "declares 100 torch.FloatStorage elements (400 bytes) but its record holds 40 bytes");
        refused(craft("huge.pth", List.of(spec(1L << 62, 0, new long[] {4}, new long[] {1})), forty, Set.of()), "impossible size");
        refused(craft("missing.pth", List.of(spec(10, 0, new long[] {10}, new long[] {1})), Map.of(), Set.of()), "has no record crafted/data/0");
        refused(craft("deflated.pth", List.of(spec(10, 0, new long[] {10}, new long[] {1})), forty, Set.of("crafted/data/0")), "is compressed");
        assertEquals(null, attempt(craft("fine.pth", List.of(spec(10, 0, new long[] {10}, new long[] {1})), forty, Set.of())));
    }

    @Test
    void aZipBombLikePickleIsRefusedBeforeItIsInflated() throws Exception {
        byte[] pickle = TorchSaveWriter.stateDictPickle(List.of(spec(10, 0, new long[] {10}, new long[] {1})));
        byte[] padded = Arrays.copyOf(pickle, (int) TorchCheckpoint.MAX_PICKLE_BYTES + 1024);  // zeros deflate a thousandfold
        Map<String, byte[]> entries = new LinkedHashMap<>();
        entries.put("bomb/data.pkl", padded);
        entries.put("bomb/data/0", new byte[40]);
        Path f = tmp.resolve("bomb.pth");
        TorchSaveWriter.zip(f, entries, Set.of("bomb/data.pkl"));
        assertTrue(Files.size(f) < 1 << 20, "the file is small: " + Files.size(f));
        refused(f, "data.pkl", "more than the " + TorchCheckpoint.MAX_PICKLE_BYTES);

        // the same entry claiming to be small in the directory: inflation stops at the declared size
        entries.put("bomb/data.pkl", Arrays.copyOf(pickle, 4 << 20));
        TorchSaveWriter.zip(f, entries, Set.of("bomb/data.pkl"));
        byte[] b = Files.readAllBytes(f);
        int central = indexOf(b, new byte[] {'P', 'K', 1, 2});
        ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).putInt(central + 24, 1000);  // uncompressed size
        Files.write(f, b);
        refused(f, "does not inflate to its declared 1000 bytes");
    }

    // ---- hostile pickles ------------------------------------------------------------------------------------------

    private Path pickleFile(String name, byte[] pickle) throws Exception {
        Map<String, byte[]> entries = new LinkedHashMap<>();
        entries.put("p/data.pkl", pickle);
        Path f = tmp.resolve(name);
        TorchSaveWriter.zip(f, entries, Set.of());
        return f;
    }

    private static byte[] pickle(String body) {
        ByteArrayOutputStream o = new ByteArrayOutputStream();
        o.write(0x80);
        o.write(2);
        o.writeBytes(body.getBytes(StandardCharsets.ISO_8859_1));
        o.write('.');
        return o.toByteArray();
    }

    @Test
    void opcodesAndGlobalsOutsideTheAllowlistAreRefusedByName() throws Exception {
        refused(pickleFile("eval.pth", pickle("cbuiltins\neval\nX\u0004\0\0\01+1\u0085R")), "builtins.eval", "nothing in the file was run");
        refused(pickleFile("py2.pth", pickle("c__builtin__\nexec\n")), "__builtin__.exec");
        refused(pickleFile("subprocess.pth", pickle("ccommands\ncheck_output\n")), "commands.check_output");
        refused(pickleFile("stack-global.pth", pickle("X\u0001\0\0\0aX\u0001\0\0\0b\u0093")), "STACK_GLOBAL (0x93)");
        refused(pickleFile("inst.pth", pickle("(ios\nsystem\n")), "INST (0x69)");
        refused(pickleFile("call-tensor.pth", pickle("ctorch\nTensor\n)R")), "a call of torch.Tensor");
        refused(pickleFile("build.pth", pickle("ctorch\nFloatStorage\n}b")), "BUILD on torch.FloatStorage");
        refused(pickleFile("persid.pth", pickle("(X\u0004\0\0\0evil)tQ")), "not ('storage'");
        refused(pickleFile("protocol.pth", new byte[] {(byte) 0x80, 4, '}', '.'}), "pickle protocol 4");
        refused(pickleFile("memo.pth", pickle("h\u0007")), "memo entry 7");
        refused(pickleFile("length.pth", pickle("X\u00ff\u00ff\u00ff\u007f")), "ends before its STOP");
        refused(pickleFile("nothing.pth", pickle("")), "stack");
        refused(pickleFile("list.pth", pickle("]")), "not a dict of tensors");
        refused(pickleFile("deep.pth", pickle(")" + "\u0085".repeat(100_000))), "nested deeper");
    }

    /** Where a legacy file's storages begin: after its five pickles. */
    private static int storagesStart(byte[] file) throws Exception {
        ByteBuffer b = ByteBuffer.wrap(file);
        int p = 0;
        for (int i = 0; i < 5; i++) {
            Unpickler u = new Unpickler(b, p, "test", pid -> new StorageRef("0", StorageType.FloatStorage, "cpu", 0));
            u.load();
            p = u.position();
        }
        return p;
    }

    private static int indexOf(byte[] hay, byte[] needle) {
        outer:
        for (int i = 0; i + needle.length <= hay.length; i++) {
            for (int j = 0; j < needle.length; j++) if (hay[i + j] != needle[j]) continue outer;
            return i;
        }
        throw new AssertionError("not found");
    }
}
