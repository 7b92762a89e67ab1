package dev.retort.launcher;

import java.util.StringJoiner;

/** Turns the process arguments into one Gogo command line. */
final class CommandLine {
    private CommandLine() {}

    /**
     * One argument is a whole Gogo command line (so pipes and several commands work). With several, the first is
     * the command and each further argument stays one argument: it is quoted when Gogo would split or expand it.
     */
    static String join(String[] args) {
        if (args.length == 1) return args[0];
        StringJoiner line = new StringJoiner(" ");
        line.add(args[0]);
        for (int i = 1; i < args.length; i++) line.add(quote(args[i]));
        return line.toString();
    }

    static String quote(String arg) {
        if (!arg.isEmpty() && arg.chars().noneMatch(CommandLine::special)) return arg;
        // Single quotes take everything literally in Gogo; a single quote itself needs double quotes.
        if (arg.indexOf('\'') < 0) return "'" + arg + "'";
        StringBuilder b = new StringBuilder("\"");
        for (char c : arg.toCharArray()) {
            if (c == '"' || c == '\\' || c == '$') b.append('\\');
            b.append(c);
        }
        return b.append('"').toString();
    }

    private static boolean special(int c) {
        return Character.isWhitespace(c) || "\"'\\$;|&<>(){}[]#=~`".indexOf(c) >= 0;
    }
}
