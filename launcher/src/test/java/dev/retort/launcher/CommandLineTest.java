package dev.retort.launcher;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

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

    @Test
    void webOptionsBecomeAKdWebLineBeforeTheCommand() {
        CommandLine.Options o = CommandLine.options(new String[] {"--web=8081", "kd:train", "run.cfg"});
        assertEquals("kd:web 8081", o.web());
        assertArrayEquals(new String[] {"kd:train", "run.cfg"}, o.rest());
        assertEquals("kd:web", CommandLine.options(new String[] {"--web"}).web());
        assertEquals(0, CommandLine.options(new String[] {"--web"}).rest().length);
        assertEquals("kd:web --host 0.0.0.0 9000", CommandLine.options(new String[] {"--web-host=0.0.0.0", "--web=9000", "kd:info"}).web());
        // options only before the command: after it they are the command's
        CommandLine.Options after = CommandLine.options(new String[] {"kd:info", "--web"});
        assertNull(after.web());
        assertArrayEquals(new String[] {"kd:info", "--web"}, after.rest());
    }

    @Test
    void aWebPortThatIsNotANumberIsRefusedNamingIt() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> CommandLine.options(new String[] {"--web=http", "kd:info"}));
        assertEquals("--web=PORT: the port must be a number, got 'http'", e.getMessage());
    }
}
