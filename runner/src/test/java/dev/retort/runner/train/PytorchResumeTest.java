package dev.retort.runner.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.ndarray.NDManager;
import ai.djl.nn.Parameter;
import dev.retort.api.backbone.SegmentationNetwork;
import dev.retort.safetensors.SafeTensorsFile;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * {@code --resume} of TransKD's own training checkpoint ({@code checkpoint_*.pth.tar}, written by real PyTorch under
 * nn.DataParallel): the student comes out exactly as the fixture's safetensors twin holds it, and the notes say that the
 * optimizer and the step start afresh; {@code kd:eval} and plans refuse such a file, saying what it is.
 */
class PytorchResumeTest {
    static final Path DIR = Path.of(System.getProperty("retort.fixtures")).resolve("pytorch-checkpoints");
    static final Map<String, Object> TINY = Map.of("embed_dims", "8,16,24,32", "depths", "1,1,1,1", "num_heads", "1,2,3,4",
            "decoder_dim", 16, "num_classes", 20);

    @Test
    void aTranskdCheckpointGivesTheStudentAndSaysWhatStartsAfresh() throws Exception {
        try (NDManager m = TestServices.ENGINE.newBaseManager();
             SegmentationNetwork student = new dev.retort.backbones.mit.MitBackbone().build("mit-b0", TINY, m, 1);
             SafeTensorsFile twin = SafeTensorsFile.open(DIR.resolve("transkd-checkpoint.student.expected.safetensors"))) {
            AdamW optimizer = new AdamW(m, 0.01);
            Map<String, Parameter> all = new LinkedHashMap<>();
            student.parameters().forEach((k, p) -> all.put("student." + k, p));
            optimizer.parameters(all);
            Checkpoints.State s = Checkpoints.read(DIR.resolve("transkd-checkpoint.pth.tar"), student, Map.of(), Map.of(), optimizer);
            assertEquals(0, s.step());
            assertTrue(s.notes().stream().anyMatch(n -> n.contains("not a Retort checkpoint (PyTorch zip checkpoint")
                    && n.contains("AdamW state and the step start afresh")), s.notes().toString());
            for (var e : student.parameters().entrySet()) {
                assertArrayEquals(twin.readFloats(e.getKey()), e.getValue().getArray().toFloatArray(), e.getKey());
            }
        }
        IllegalArgumentException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> Checkpoints.runDescription(DIR.resolve("transkd-checkpoint.pth.tar")));
        assertTrue(e.getMessage().contains("is not a Retort run checkpoint") && e.getMessage().contains("PyTorch zip checkpoint")
                && e.getMessage().contains("student.weights"), e.getMessage());
    }
}
