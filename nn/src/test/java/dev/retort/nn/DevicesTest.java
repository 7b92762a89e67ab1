package dev.retort.nn;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.djl.Device;
import ai.djl.engine.Engine;
import dev.retort.api.error.RetortConfigException;
import dev.retort.runtime.DjlRuntime;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The device setting on this machine's CPU build: auto is the CPU without a warning (no CUDA natives), a GPU is refused by name. */
class DevicesTest {
    @Test
    void autoIsTheCpuAndAMissingGpuIsAUserError() {
        Engine engine = DjlRuntime.startOffline(Path.of("target", "djl-cache"));
        List<String> said = new ArrayList<>();
        assertEquals(Device.cpu(), Devices.resolve(engine, "auto", said::add));
        assertEquals(List.of(), said, "the CPU build falls back to nothing: no warning");
        assertEquals(Device.cpu(), Devices.resolve(engine, "cpu", said::add));
        var e = assertThrows(RetortConfigException.class, () -> Devices.resolve(engine, "gpu:1", said::add));
        assertEquals("device gpu:1: 0 GPU(s) found (the libtorch in use is a CPU build: see kd:info's natives line)", e.getMessage());
        assertTrue(said.isEmpty());
        assertEquals(0, Devices.gpuCount(engine));
    }
}
