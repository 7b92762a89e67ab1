package dev.retort.launcher;

import java.util.Arrays;
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

    /**
     * The launcher's own options before the command: {@code --web[=PORT]} and {@code --web-host=ADDR} start the web
     * view first, as {@code kd:web [--host ADDR] [PORT]} would.
     *
     * @param web  the kd:web command line to run first, or null
     * @param rest the arguments after the options: the command (empty: the shell)
     */
    record Options(String web, String[] rest) {}

    static Options options(String[] args) {
        String port = null, host = null;
        boolean web = false;
        int i = 0;
        for (; i < args.length; i++) {
            String a = args[i];
            if (a.equals("--web")) {
                web = true;
            } else if (a.startsWith("--web=")) {
                web = true;
                port = a.substring("--web=".length());
                if (!port.matches("\\d{1,5}")) throw new IllegalArgumentException("--web=PORT: the port must be a number, got '" + port + "'");
            } else if (a.startsWith("--web-host=")) {
                web = true;
                host = a.substring("--web-host=".length());
                if (host.isBlank()) throw new IllegalArgumentException("--web-host=ADDR: the address is empty");
            } else {
                break;
            }
        }
        String[] rest = Arrays.copyOfRange(args, i, args.length);
        if (!web) return new Options(null, rest);
        StringJoiner line = new StringJoiner(" ");
        line.add("kd:web");
        if (host != null) line.add("--host").add(quote(host));
        if (port != null) line.add(port);
        return new Options(line.toString(), rest);
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
