package dev.retort.launcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.retort.launcher.Retort.Result;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every {@code kd:} command given too many, too few or unknown arguments answers with its usage (what
 * {@code help kd:<name>} prints), never with Gogo's "Cannot coerce ..."; a line with a misfit runs none of its commands.
 */
class CommandUsageIT {
    /** The commands that take a list of words and check their number themselves. */
    private static final Set<String> OWN_ARITY = Set.of("kd:dataset", "kd:web");
    /** The commands with no form that takes no word. */
    private static final Set<String> NEED_WORDS = Set.of("kd:convert", "kd:weights", "kd:model", "kd:enable", "kd:disable", "kd:export",
            "kd:eval", "kd:ablate");

    @TempDir
    static Path work;
    private static List<String> commands;

    @BeforeAll
    static void listTheCommands() throws Exception {
        Result help = Retort.run(work, "", "help");
        assertEquals(0, help.exit(), help.out() + help.err());
        commands = help.out().lines().map(String::strip).filter(l -> l.startsWith("kd:")).sorted().toList();
        assertTrue(commands.size() >= 20 && commands.contains("kd:convert") && commands.contains("kd:ablate"), commands.toString());
    }

    @Test
    void tooManyWordsPrintEachCommandsUsage() throws Exception {
        List<String> fixed = commands.stream().filter(c -> !OWN_ARITY.contains(c)).toList();
        Result r = Retort.run(work, "", fixed.stream().map(c -> c + " w1 w2 w3 w4 w5 w6").collect(Collectors.joining("; ")));
        assertEquals(1, r.exit(), r.out() + r.err());
        for (String c : fixed) assertUsage(r, c, " argument");
    }

    @Test
    void tooFewWordsPrintTheUsage() throws Exception {
        // kd:convert with three of its four words: the case Gogo answered with 'Cannot coerce convert(Token, Token, Token)'
        Result three = Retort.run(work, "", "kd:convert", "mit-b0", "in.safetensors", "out.safetensors");
        assertEquals(1, three.exit(), three.out() + three.err());
        assertUsage(three, "kd:convert", "3 arguments where it takes 4");
        for (String c : NEED_WORDS) assertTrue(commands.contains(c), c + " is not a command any more: " + commands);
        Result none = Retort.run(work, "", String.join("; ", NEED_WORDS));
        assertEquals(1, none.exit(), none.out() + none.err());
        for (String c : NEED_WORDS) assertUsage(none, c, "0 arguments where it takes");
    }

    @Test
    void anUnknownOptionPrintsTheUsage() throws Exception {
        Result r = Retort.run(work, "", commands.stream().map(c -> c + " --bogus 1").collect(Collectors.joining("; ")));
        assertEquals(1, r.exit(), r.out() + r.err());
        for (String c : commands) assertUsage(r, c, "unknown option --bogus");
    }

    @Test
    void theCommandsThatCountTheirWordsThemselvesAnswerWithTheirUsage() throws Exception {
        Result dataset = Retort.run(work, "", "kd:dataset", "synthetic", "-", "train", "extra");
        assertEquals(1, dataset.exit(), dataset.out() + dataset.err());
        assertTrue(dataset.err().contains("retort: kd:dataset synthetic - train extra: usage: kd:dataset [--limit N] [--protocol P] <name> [root|-] [split]"),
                dataset.err());
        Result web = Retort.run(work, "", "kd:web", "8080", "8081");
        assertEquals(1, web.exit(), web.out() + web.err());
        assertTrue(web.err().contains("usage: kd:web [--host ADDR] [--study DIR] [--stop] [port]"), web.err());
        for (Result r : List.of(dataset, web)) assertClean(r);
    }

    private static void assertUsage(Result r, String command, String why) {
        String function = command.substring(command.indexOf(':') + 1);
        String err = r.err();
        int at = err.indexOf("retort: " + command + ": ");
        assertTrue(at >= 0, command + " not answered: " + err);
        String answer = err.substring(at, err.indexOf('\n', at));
        assertTrue(answer.contains(why) && answer.endsWith("; usage:"), answer);
        // the usage follows: help's first line for the command, then its scope
        String after = err.substring(err.indexOf('\n', at) + 1);
        assertTrue(after.startsWith(function + " - ") || after.startsWith(function + "\n"), command + ": " + after);
        assertTrue(after.lines().skip(1).findFirst().orElse("").strip().equals("scope: kd"), command + ": " + after);
        assertClean(r);
    }

    private static void assertClean(Result r) {
        String all = r.out() + r.err();
        assertFalse(all.contains("coerce") || all.contains("Exception") || all.contains("\tat "), all);
        assertFalse(Arrays.stream(all.split("\n")).anyMatch(l -> l.startsWith("run ")), "nothing ran: " + all);
    }
}
