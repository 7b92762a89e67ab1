package dev.retort.api.error;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import org.junit.jupiter.api.Test;

class FailuresTest {
    @Test
    void aUserErrorReadsAsItsMessageAlone() {
        assertEquals("csf: mid_channels must be an integer, got '1.7'",
                Failures.describe(new RetortConfigException("csf: mid_channels must be an integer, got '1.7'")));
    }

    @Test
    void noTypeNameReachesTheUserUnlessDebugging() {
        // e.g. DJL's shape check: its message says it; the type only with -Dretort.debug=true
        assertEquals("shapes (2, 3) and (4) do not match", Failures.describe(new IllegalArgumentException("shapes (2, 3) and (4) do not match")));
        assertEquals("/data/run.cfg: no such file or folder", Failures.describe(new java.nio.file.NoSuchFileException("/data/run.cfg")));
        System.setProperty(Failures.DEBUG, "true");
        try {
            assertEquals("java.lang.IllegalArgumentException: shapes (2, 3) and (4) do not match",
                    Failures.describe(new IllegalArgumentException("shapes (2, 3) and (4) do not match")));
        } finally {
            System.clearProperty(Failures.DEBUG);
        }
    }

    @Test
    void aStateAnswerReadsAsItsMessage() {
        assertEquals("no run in progress", Failures.describe(new IllegalStateException("no run in progress")));
    }

    @Test
    void causesFollowOnceEach() {
        IOException io = new IOException("run.cfg: no such file");
        assertEquals("cannot read the run file <- run.cfg: no such file",
                Failures.describe(new RetortConfigException("cannot read the run file", io)));
        // a cause whose message the line holds already adds nothing
        assertEquals("run.cfg: no such file", Failures.describe(new RetortConfigException("run.cfg: no such file", new IOException("run.cfg: no such file"))));
    }

    @Test
    void aThrowableWithoutMessageSaysHowToSeeMore() {
        assertEquals("an internal error without a message (run with -Dretort.debug=true to see its type and trace)",
                Failures.describe(new NullPointerException()));
        assertEquals("boom", Failures.describe(new java.lang.reflect.InvocationTargetException(new IllegalStateException("boom"))));
        // new RuntimeException(cause) takes the cause's toString(), type and all, as its message: left to the cause
        assertEquals("bad header <- Unterminated object", Failures.describe(new IOException("bad header",
                new RuntimeException(new java.io.EOFException("Unterminated object")))));
    }
}
