package dev.retort.parity;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Every setting of the replayed run comes from the trajectory folder; one the replay does not understand is an error. */
class TrajectoryDescriptionTest {
    static final Path FIXTURE = Path.of(System.getProperty("retort.fixtures"), "transkd-trajectory");

    @TempDir
    Path dir;

    @Test
    void theRunIsReadFromTheFolder() throws Exception {
        Map<String, Object> d = TrajectoryParity.description(FIXTURE, dir.resolve("run"));
        assertEquals(20261208L, d.get("seed"));
        assertEquals(2, d.get("batch_size"));
        assertEquals(8L, d.get("iterations"));
        assertEquals(6e-4, d.get("lr"));
        assertEquals(0.01, d.get("weight_decay"));
        assertEquals("none", d.get("decay_per"));
        assertEquals("16,32,48,64", d.get("teacher.embed_dims"));
        assertEquals("8,16,24,32", d.get("student.embed_dims"));
        assertEquals("1,1,1,1", d.get("student.num_heads"));
        assertEquals("16", d.get("student.decoder_dim"));
        assertEquals(20, d.get("student.num_classes"));
        assertEquals(64, d.get("module.csf.mid_channels"));  // from skfs.0.conv1.0.weight of the initial weights
        assertEquals("0.1,0.1,0.5,1.0", d.get("module.pea.weights"));
        assertEquals("batch-file", d.get("dataset"));
        assertEquals(FIXTURE.resolve("initial.safetensors").toString(), d.get("init"));
        assertTrue(d.get("data.class_weights").toString().startsWith("2.5959737300872803,6.741505146026611,"));
        assertTrue(d.get("data.class_weights").toString().endsWith(",0.0"));
    }

    @Test
    void aSettingTheReplayDoesNotUnderstandIsAnError() throws Exception {
        for (String f : new String[] {"initial.safetensors", "batches.safetensors", "expected.safetensors"}) Files.createSymbolicLink(dir.resolve(f), FIXTURE.resolve(f));
        String summary = Files.readString(FIXTURE.resolve("summary.json"));
        Files.writeString(dir.resolve("summary.json"), summary.replaceFirst("\\{", "{\"momentum\": 0.9,"));
        String m = assertThrows(IllegalArgumentException.class, () -> TrajectoryParity.description(dir, dir.resolve("run"))).getMessage();
        assertTrue(m.contains("keys this replay does not understand: [momentum]"), m);
        Files.writeString(dir.resolve("summary.json"), summary.replaceFirst("\"decoderembed_dim\"", "\"qk_scale\""));
        m = assertThrows(IllegalArgumentException.class, () -> TrajectoryParity.description(dir, dir.resolve("run"))).getMessage();
        assertTrue(m.contains("teacher.qk_scale is not a setting this replay understands"), m);
        Files.writeString(dir.resolve("summary.json"), summary.replaceFirst("\"lr\"", "\"learning_rate\""));
        m = assertThrows(IllegalArgumentException.class, () -> TrajectoryParity.description(dir, dir.resolve("run"))).getMessage();
        assertTrue(m.contains("learning_rate") || m.contains("no 'lr'"), m);
    }
}
