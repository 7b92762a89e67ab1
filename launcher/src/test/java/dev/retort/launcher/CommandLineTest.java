package dev.retort.launcher;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

class CommandLineTest {
    @Test
    void aSingleArgumentIsAWholeGogoLine() {
        assertEquals("kd:info | grep mit", CommandLine.join(new String[] {"kd:info | grep mit"}));
    }

    @Test
    void furtherArgumentsStayOneArgumentEach() {
        assertEquals("kd:parity '/data/my fixtures' plain", CommandLine.join(new String[] {"kd:parity", "/data/my fixtures", "plain"}));
        assertEquals("echo \"it's \\$HOME\"", CommandLine.join(new String[] {"echo", "it's $HOME"}));
        assertEquals("echo ''", CommandLine.join(new String[] {"echo", ""}));
        assertEquals("kd:ablate grid.yaml '--arm=3'", CommandLine.join(new String[] {"kd:ablate", "grid.yaml", "--arm=3"}));
    }
}
