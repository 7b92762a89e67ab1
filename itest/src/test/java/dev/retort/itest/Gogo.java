package dev.retort.itest;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.function.Predicate;
import org.apache.felix.service.command.CommandProcessor;
import org.apache.felix.service.command.CommandSession;

/** Runs Gogo command lines in the framework under test, as a user at the shell would, and returns what they print. */
final class Gogo {
    private Gogo() {}

    /** One command line in a fresh session: its output and its formatted result. */
    static String run(CommandProcessor shell, String line) throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        PrintStream ps = new PrintStream(out, true, StandardCharsets.UTF_8);
        try (CommandSession session = shell.createSession(System.in, ps, ps)) {
            Object result = session.execute(line);
            if (result != null) ps.println(session.format(result, 0));
        }
        return out.toString(StandardCharsets.UTF_8);
    }

    /**
     * Services come and go asynchronously: re-runs a command until its output satisfies the condition (10 s at most).
     * A command that fails meanwhile (a configuration change not yet applied) is run again; its last failure is
     * thrown when the time is up.
     */
    static String await(CommandProcessor shell, String command, Predicate<String> condition) throws Exception {
        long deadline = System.currentTimeMillis() + 10_000;
        while (true) {
            String out = null;
            Exception failure = null;
            try {
                out = run(shell, command);
            } catch (Exception e) {
                failure = e;
            }
            if (out != null && condition.test(out)) return out;
            if (System.currentTimeMillis() >= deadline) {
                if (failure != null) throw failure;
                assertTrue(condition.test(out), out);
                return out;
            }
            Thread.sleep(50);
        }
    }
}
