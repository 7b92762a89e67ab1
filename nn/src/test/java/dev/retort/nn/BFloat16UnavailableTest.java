package dev.retort.nn;

import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.retort.runtime.DjlRuntime;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * DJL 0.35.1's PyTorch JNI has no bfloat16: casting to it with DJL's own {@code toType} ends the process in native
 * code (no Java exception), which is why every bfloat16 cast goes through {@link BFloat16} and nothing may ask DJL for
 * an array of a bfloat16 array's type. Run in a child JVM. When an upgrade makes the cast work this test fails: then
 * {@link BFloat16}'s casts can become DJL's.
 */
class BFloat16UnavailableTest {
    @Test
    void castingToBfloat16KillsTheJvm() throws IOException, InterruptedException {
        List<String> command = new ArrayList<>();
        command.add(ProcessHandle.current().info().command().orElse("java"));
        for (String p : List.of("ai.djl.offline", "DJL_CACHE_DIR", "OPT_OUT_TRACKING")) {
            if (System.getProperty(p) != null) command.add("-D" + p + "=" + System.getProperty(p));
        }
        command.addAll(List.of("-cp", System.getProperty("java.class.path"), Cast.class.getName()));
        Process child = new ProcessBuilder(command).redirectErrorStream(true).start();
        String output = new String(child.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(child.waitFor(120, TimeUnit.SECONDS), "child did not end");
        assertTrue(output.contains("engine started"), output);
        assertTrue(!output.contains("cast to bfloat16 returned"), "the cast worked: bfloat16 is usable now; " + output);
        assertNotEquals(0, child.exitValue(), output);
        assertTrue(output.contains("terminate called"), output);
    }

    /** The child: start PyTorch, cast a float32 array to bfloat16. */
    public static final class Cast {
        public static void main(String[] args) {
            Engine engine = DjlRuntime.startOffline(Path.of("target", "djl-cache"));
            System.out.println("engine started");
            System.out.flush();
            try (NDManager m = engine.newBaseManager()) {
                System.out.println("cast to bfloat16 returned " + m.ones(new Shape(2)).toType(DataType.BFLOAT16, false).getDataType());
            }
        }
    }
}
