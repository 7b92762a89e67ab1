package dev.retort.backbones.mit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDManager;
import dev.retort.api.backbone.LoadMode;
import dev.retort.api.backbone.LoadReport;
import dev.retort.api.backbone.SegmentationNetwork;
import dev.retort.runtime.DjlRuntime;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Published checkpoints load as they are: the tiny MiT the fixtures' PyTorch saved as a flat state dict (zip and legacy
 * formats), inside TransKD's training checkpoint (under nn.DataParallel, {@code module.student.*}) and as an mmseg
 * checkpoint ({@code backbone.*}) give the network exactly the parameters of the safetensors twin; a Hugging Face folder
 * whose config.json states another architecture is refused saying so.
 */
class MitPytorchCheckpointTest {
    static final Path DIR = Path.of(System.getProperty("retort.fixtures")).resolve("pytorch-checkpoints");
    /** The fixtures' tiny MiT (README of pytorch-checkpoints). */
    static final Map<String, Object> TINY = Map.of("embed_dims", "8,16,24,32", "depths", "1,1,1,1", "num_heads", "1,2,3,4",
            "decoder_dim", 16, "num_classes", 20);
    static Engine engine;
    final MitBackbone backbone = new MitBackbone();

    @TempDir
    Path dir;

    @BeforeAll
    static void engine() {
        engine = DjlRuntime.startOffline(Path.of("target", "djl-cache"));
    }

    @ParameterizedTest
    @CsvSource({"mit-tiny.pth, mit-tiny.expected.safetensors", "mit-tiny.legacy.pth, mit-tiny.expected.safetensors",
            "transkd-checkpoint.pth.tar, transkd-checkpoint.student.expected.safetensors", "mmseg-style.pth, mit-tiny.expected.safetensors"})
    void publishedCheckpointsLoadLikeTheirSafetensorsTwin(String file, String twin) throws Exception {
        try (NDManager m = engine.newBaseManager();
             SegmentationNetwork expected = backbone.build("mit-b0", TINY, m, 1);
             SegmentationNetwork net = backbone.build("mit-b0", TINY, m, 2)) {
            expected.load(DIR.resolve(twin), LoadMode.STRICT);
            LoadReport r = net.load(DIR.resolve(file), LoadMode.STRICT);
            assertEquals("reference", r.naming());
            assertEquals(expected.parameters().size(), r.loaded());
            for (var e : expected.parameters().entrySet()) {
                assertArrayEquals(e.getValue().getArray().toFloatArray(), net.parameters().get(e.getKey()).getArray().toFloatArray(), e.getKey());
            }
        }
    }

    @Test
    void aHuggingFaceFolderLoadsAndItsConfigIsCheckedAgainstTheVariant() throws Exception {
        Path folder = dir.resolve("tiny-hf");
        try (NDManager m = engine.newBaseManager(); SegmentationNetwork net = backbone.build("mit-b0", TINY, m, 3)) {
            net.save(folder, "hf");
            assertTrue(Files.isRegularFile(folder.resolve("config.json")));
            try (SegmentationNetwork again = backbone.build("mit-b0", TINY, m, 4)) {
                LoadReport r = again.load(folder, LoadMode.STRICT);
                assertEquals("hf", r.naming());
                assertArrayEquals(net.parameters().get("block2.0.attn.kv.weight").getArray().toFloatArray(),
                        again.parameters().get("block2.0.attn.kv.weight").getArray().toFloatArray());
            }
        }
        try (NDManager m = engine.newBaseManager(); SegmentationNetwork b2 = backbone.build("mit-b2", Map.of(), m, 5)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> b2.load(folder, LoadMode.ENCODER_ONLY));
            assertTrue(e.getMessage().contains("config.json describes another network than mit-b2")
                    && e.getMessage().contains("hidden_sizes [8, 16, 24, 32] where the network has [64, 128, 320, 512]"), e.getMessage());
            assertFalse(e.getMessage().contains("mis-shaped"), "the architecture is named before any tensor is compared");
        }
    }

    @Test
    void aHostileCheckpointIsRefusedBeforeTheNetworkIsTouched() throws Exception {
        try (NDManager m = engine.newBaseManager(); SegmentationNetwork net = backbone.build("mit-b0", TINY, m, 6)) {
            float[] before = net.parameters().get("block1.0.attn.q.weight").getArray().toFloatArray();
            var e = assertThrows(dev.retort.api.error.RetortConfigException.class, () -> net.load(DIR.resolve("hostile-os-system.pth"), LoadMode.STRICT));
            assertTrue(e.getMessage().contains("posix.system"), e.getMessage());
            assertFalse(Files.exists(Path.of("retort-payload-ran.txt")));
            assertArrayEquals(before, net.parameters().get("block1.0.attn.q.weight").getArray().toFloatArray());
        }
    }
}
