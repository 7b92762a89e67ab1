package dev.retort.testing;

import ai.djl.engine.Engine;
import dev.retort.runtime.DjlRuntime;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeAll;

/** A test that needs the PyTorch engine: started once, offline, from the natives on the class path, as the launcher does. */
public abstract class EngineTest {
    protected static Engine engine;

    @BeforeAll
    static void startEngine() {
        engine = DjlRuntime.startOffline(Path.of("target", "djl-cache"));
    }
}
