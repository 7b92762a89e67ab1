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
    void anIllegalArgumentExceptionOfAnotherTypeKeepsItsType() {
        // e.g. DJL's shape check: a fault to report, not the user's mistake
        assertEquals("IllegalArgumentException: shapes (2, 3) and (4) do not match",
                Failures.describe(new IllegalArgumentException("shapes (2, 3) and (4) do not match")));
    }

    @Test
    void aStateAnswerReadsAsItsMessage() {
        assertEquals("no run in progress", Failures.describe(new IllegalStateException("no run in progress")));
    }

    @Test
    void causesFollowOnceEach() {
        IOException io = new IOException("run.cfg: no such file");
        assertEquals("cannot read the run file <- IOException: run.cfg: no such file",
                Failures.describe(new RetortConfigException("cannot read the run file", io)));
        // a cause whose message the line holds already adds nothing
        assertEquals("run.cfg: no such file", Failures.describe(new RetortConfigException("run.cfg: no such file", new IOException("run.cfg: no such file"))));
    }

    @Test
    void aThrowableWithoutMessageIsItsType() {
        assertEquals("NullPointerException", Failures.describe(new NullPointerException()));
    }
}
