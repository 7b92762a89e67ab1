package dev.retort.pytorch;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.retort.safetensors.DType;
import dev.retort.safetensors.SafeTensorsFile;
import dev.retort.safetensors.TensorInfo;
import dev.retort.safetensors.TensorSource;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.TreeSet;
import java.util.function.UnaryOperator;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

/**
 * The reader against files written by real PyTorch ({@code ../shared/fixtures/pytorch-checkpoints}, see its README):
 * every tensor equal to the safetensors twin PyTorch wrote of the same values, in both formats; the hostile files
 * refused naming their global with nothing run.
 */
class FixtureCheckpointsTest {
    static final Path DIR = Path.of(System.getProperty("retort.fixtures", "../../shared/fixtures")).resolve("pytorch-checkpoints");
    /** The file the os.system payload would create in the working folder. */
    static final Path PAYLOAD = Path.of("retort-payload-ran.txt");

    @ParameterizedTest
    @ValueSource(strings = {"mit-tiny.pth", "mit-tiny.legacy.pth"})
    void stateDictsEqualTheirSafetensorsTwin(String file) throws Exception {
        try (TorchCheckpoint c = TorchCheckpoint.open(DIR.resolve(file))) {
            assertNull(c.stateDictKey(), "a flat state dict");
            assertEquals(116, c.tensors().size());
            assertSame(c, DIR.resolve("mit-tiny.expected.safetensors"), UnaryOperator.identity());
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"layouts.pth", "layouts.legacy.pth"})
    void viewsAndDtypesComeOutRight(String file) throws Exception {
        try (TorchCheckpoint c = TorchCheckpoint.open(DIR.resolve(file));
             SafeTensorsFile expected = SafeTensorsFile.open(DIR.resolve("layouts.expected.safetensors"))) {
            assertEquals(new TreeSet<>(expected.tensors().keySet()), new TreeSet<>(c.tensors().keySet()));
            assertEquals(DType.F16, c.info("half").dtype());
            assertEquals(DType.BF16, c.info("bfloat16").dtype());
            assertEquals(DType.F64, c.info("float64").dtype());
            assertEquals(DType.I32, c.info("int32").dtype());
            assertEquals(DType.U8, c.info("uint8").dtype());
            assertEquals(DType.BOOL, c.info("bool").dtype());
            assertEquals(0, c.info("scalar").shape().length, "a 0-d tensor keeps no dimension");
            assertArrayEquals(new long[] {0, 4}, c.info("empty").shape());
            for (String name : expected.tensors().keySet()) {
                TensorInfo e = expected.info(name);
                assertArrayEquals(twinShape(c.info(name).shape()), e.shape(), name);
                if (e.dtype().floating()) assertArrayEquals(expected.readFloats(name), c.readFloats(name), name);
                else assertArrayEquals(expected.readLongs(name), c.readLongs(name), name);
            }
            assertThrows(CheckpointException.class, () -> c.readLongs("contiguous"));
            assertThrows(CheckpointException.class, () -> c.readFloats("int64"));
        }
    }

    @Test
    void transkdTrainingCheckpointUnwrapsItsStateDict() throws Exception {
        try (TorchCheckpoint c = TorchCheckpoint.open(DIR.resolve("transkd-checkpoint.pth.tar"))) {
            assertEquals("state_dict", c.stateDictKey());
            assertEquals(205, c.tensors().size());
            assertEquals(new TreeSet<>(java.util.List.of("epoch", "arch", "state_dict", "best_acc", "optimizer")), new TreeSet<>(c.topLevel().keySet()));
            assertTrue(c.metadata().containsKey("epoch") && c.metadata().containsKey("arch"), c.metadata().keySet().toString());
            assertTrue(c.format().contains("archive folder 'transkd-checkpoint.pth'"), c.format());
            assertSame(c, DIR.resolve("transkd-checkpoint.all.expected.safetensors"), UnaryOperator.identity());
            assertSame(c, DIR.resolve("transkd-checkpoint.student.expected.safetensors"), k -> "module.student." + k);
        }
    }

    @Test
    void mmsegCheckpointUnwrapsItsStateDict() throws Exception {
        try (TorchCheckpoint c = TorchCheckpoint.open(DIR.resolve("mmseg-style.pth"))) {
            assertEquals("state_dict", c.stateDictKey());
            assertTrue(c.topLevel().get("meta").startsWith("dict of"), c.topLevel().toString());
            assertSame(c, DIR.resolve("mit-tiny.expected.safetensors"), k -> "backbone." + k);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"hostile-os-system.pth", "hostile-os-system.legacy.pth"})
    void osSystemIsRefusedNamingItAndNothingRuns(String file) throws Exception {
        Files.deleteIfExists(PAYLOAD);
        CheckpointException e = assertThrows(CheckpointException.class, () -> TorchCheckpoint.open(DIR.resolve(file)));
        assertTrue(e.getMessage().contains("posix.system") && e.getMessage().contains(file) && e.getMessage().contains("nothing in the file was run"),
                e.getMessage());
        assertFalse(Files.exists(PAYLOAD), "the payload ran");
        assertFalse(Files.exists(DIR.resolve("retort-payload-ran.txt")));
    }

    @Test
    void aForeignClassIsRefusedNamingIt() {
        CheckpointException e = assertThrows(CheckpointException.class, () -> TorchCheckpoint.open(DIR.resolve("hostile-custom-class.pth")));
        assertTrue(e.getMessage().contains("__main__.Custom") && e.getMessage().contains("hostile-custom-class.pth"), e.getMessage());
    }

    /** The fixtures' safetensors twins store a 0-d tensor (a BatchNorm's num_batches_tracked, 'scalar') as shape [1]. */
    static long[] twinShape(long[] shape) {
        return shape.length == 0 ? new long[] {1} : shape;
    }

    /** Every tensor of {@code expectedFile} is in {@code c} under {@code nameIn(key)}, with the same values. */
    static void assertSame(TensorSource c, Path expectedFile, UnaryOperator<String> nameIn) throws Exception {
        try (SafeTensorsFile expected = SafeTensorsFile.open(expectedFile)) {
            for (String name : expected.tensors().keySet()) {
                String ours = nameIn.apply(name);
                assertTrue(c.contains(ours), ours + " missing");
                TensorInfo e = expected.info(name);
                assertArrayEquals(twinShape(c.info(ours).shape()), e.shape(), ours);
                if (e.dtype().floating()) assertArrayEquals(expected.readFloats(name), c.readFloats(ours), ours);
                else assertArrayEquals(expected.readLongs(name), c.readLongs(ours), ours);
            }
        }
    }
}
