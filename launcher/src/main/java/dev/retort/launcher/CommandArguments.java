package dev.retort.launcher;

import java.lang.annotation.Annotation;
import java.lang.reflect.Method;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;
import org.osgi.framework.BundleContext;
import org.osgi.framework.InvalidSyntaxException;
import org.osgi.framework.ServiceReference;

/**
 * Checks a command's arguments against its signatures before Gogo binds them, so that a command given too few, too
 * many or unknown arguments answers with its usage instead of Gogo's "Cannot coerce convert(Token, Token, Token) to
 * any of [...]". It reads what Gogo's own {@code help} reads: the public methods named as the command on the service
 * that provides it, their {@code @Parameter} options and flags and their plain parameters (a trailing array takes
 * any number). A word that starts with {@code --} and names no option of any signature is an unknown option.
 *
 * <p>Only plain words are checked (quotes allowed); a part of a line with Gogo syntax ({@code $x}, closures,
 * sub-commands) is left to Gogo, and Gogo's own binding failure is still turned into the usage
 * ({@link CommandRunner}).
 */
final class CommandArguments {
    private static final String PARAMETER = "org.apache.felix.service.command.Parameter";
    private static final String SESSION = "org.apache.felix.service.command.CommandSession";
    private static final String UNSPECIFIED = "org.apache.felix.service.command.unspecified.parameter";

    private CommandArguments() {}

    /** One command of a line: {@code kd:convert} and its words. */
    record Call(String command, List<String> words) {}

    /**
     * The {@code scope:function} calls of {@code line}, split at {@code ;} and {@code |}; empty when the line holds
     * Gogo syntax this check does not read (then Gogo binds the words itself).
     */
    static Optional<List<Call>> calls(String line) {
        List<Call> calls = new ArrayList<>();
        for (String part : split(line)) {
            Optional<List<String>> words = words(part);
            if (words.isEmpty()) return Optional.empty();
            List<String> w = words.get();
            if (w.isEmpty()) continue;
            calls.add(new Call(w.get(0), List.copyOf(w.subList(1, w.size()))));
        }
        return Optional.of(calls);
    }

    /**
     * Why {@code call} fits none of its command's signatures ("unknown option --bogus", "3 arguments where it takes
     * 4"), or empty when one fits or the command is not a scoped service command this check can read.
     */
    static Optional<String> misfit(BundleContext context, Call call) {
        int colon = call.command().indexOf(':');
        if (colon <= 0) return Optional.empty();
        String scope = call.command().substring(0, colon), function = call.command().substring(colon + 1);
        List<Method> methods = methods(context, scope, function);
        if (methods.isEmpty()) return Optional.empty();
        Set<String> options = new LinkedHashSet<>();
        List<String> arities = new ArrayList<>();
        for (Method m : methods) {
            Signature s = Signature.of(m);
            options.addAll(s.flags());
            options.addAll(s.valued());
            if (s.fits(call.words())) return Optional.empty();
            arities.add(s.arity());
        }
        for (String w : call.words()) {
            if (w.startsWith("--") && w.length() > 2 && !options.contains(w)) return Optional.of("unknown option " + w);
        }
        String last = call.words().isEmpty() ? "" : call.words().get(call.words().size() - 1);
        for (Method m : methods) if (Signature.of(m).valued().contains(last)) return Optional.of("option " + last + " needs a value");
        long given = Signature.positionals(call.words(), methods.stream().map(Signature::of).toList()).size();
        return Optional.of(given + " argument" + (given == 1 ? "" : "s") + " where it takes " + String.join(" or ", new LinkedHashSet<>(arities)));
    }

    /** A command's parameters as Gogo binds them: flags, options with a value, then plain parameters. */
    record Signature(Set<String> flags, Set<String> valued, int plain, boolean varargs) {
        static Signature of(Method m) {
            Set<String> flags = new LinkedHashSet<>(), valued = new LinkedHashSet<>();
            int plain = 0;
            boolean varargs = false;
            Class<?>[] types = m.getParameterTypes();
            Annotation[][] annotations = m.getParameterAnnotations();
            for (int i = 0; i < types.length; i++) {
                if (types[i].getName().equals(SESSION)) continue;
                Annotation p = null;
                for (Annotation a : annotations[i]) if (a.annotationType().getName().equals(PARAMETER)) p = a;
                if (p == null) {
                    plain++;
                    varargs = i == types.length - 1 && types[i].isArray();
                } else {
                    String[] names = (String[]) value(p, "names");
                    (UNSPECIFIED.equals(value(p, "presentValue")) ? valued : flags).addAll(List.of(names));
                }
            }
            return new Signature(flags, valued, plain, varargs);
        }

        boolean fits(List<String> words) {
            List<String> rest = new ArrayList<>(words);
            for (String option : valued) {
                int i = rest.indexOf(option);
                if (i < 0) continue;
                if (i + 1 >= rest.size()) return false;  // an option without its value
                rest.remove(i + 1);
                rest.remove(i);
            }
            rest.removeAll(flags);
            for (String w : rest) if (w.startsWith("--") && w.length() > 2) return false;
            return varargs ? rest.size() >= plain - 1 : rest.size() == plain;
        }

        String arity() {
            return varargs ? (plain - 1) + " or more" : String.valueOf(plain);
        }

        /** The words that are no option or flag of any of {@code signatures}. */
        static List<String> positionals(List<String> words, List<Signature> signatures) {
            Set<String> flags = new LinkedHashSet<>(), valued = new LinkedHashSet<>();
            signatures.forEach(s -> {
                flags.addAll(s.flags());
                valued.addAll(s.valued());
            });
            List<String> rest = new ArrayList<>();
            for (int i = 0; i < words.size(); i++) {
                String w = words.get(i);
                if (valued.contains(w)) i++;
                else if (!flags.contains(w)) rest.add(w);
            }
            return rest;
        }
    }

    private static List<Method> methods(BundleContext context, String scope, String function) {
        List<Method> methods = new ArrayList<>();
        ServiceReference<?>[] refs;
        try {
            refs = context.getAllServiceReferences(null, "(&(osgi.command.scope=" + scope + ")(osgi.command.function=" + function + "))");
        } catch (InvalidSyntaxException e) {
            return methods;  // not a plain name: Gogo answers
        }
        if (refs == null) return methods;
        Object service = context.getService(refs[0]);
        if (service == null) return methods;
        try {
            for (Method m : service.getClass().getMethods()) {
                if (m.getName().toLowerCase(Locale.ENGLISH).equals(function.toLowerCase(Locale.ENGLISH))) methods.add(m);
            }
        } finally {
            context.ungetService(refs[0]);
        }
        return methods;
    }

    private static Object value(Annotation a, String attribute) {
        try {
            Method m = a.annotationType().getMethod(attribute);
            m.setAccessible(true);
            return m.invoke(a);
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException("Gogo's @Parameter has no " + attribute + "()", e);
        }
    }

    /** The parts of a line between {@code ;} and {@code |} outside quotes. */
    private static List<String> split(String line) {
        List<String> parts = new ArrayList<>();
        StringBuilder b = new StringBuilder();
        char quote = 0;
        for (char c : line.toCharArray()) {
            if (quote != 0) {
                if (c == quote) quote = 0;
            } else if (c == '"' || c == '\'') {
                quote = c;
            } else if (c == ';' || c == '|' || c == '\n') {
                parts.add(b.toString());
                b.setLength(0);
                continue;
            }
            b.append(c);
        }
        parts.add(b.toString());
        return parts;
    }

    /** The words of one command, quotes removed; empty for Gogo syntax ({@code $ ( ) { } [ ] < > =}) this does not read. */
    private static Optional<List<String>> words(String part) {
        List<String> words = new ArrayList<>();
        StringBuilder b = new StringBuilder();
        boolean inWord = false;
        char quote = 0;
        for (char c : part.toCharArray()) {
            if (quote != 0) {
                if (c == quote) quote = 0;
                else b.append(c);
            } else if (c == '"' || c == '\'') {
                quote = c;
                inWord = true;
            } else if (Character.isWhitespace(c)) {
                if (inWord) words.add(b.toString());
                b.setLength(0);
                inWord = false;
            } else if ("$(){}[]<>".indexOf(c) >= 0) {
                return Optional.empty();
            } else {
                b.append(c);
                inWord = true;
            }
        }
        if (quote != 0) return Optional.empty();
        if (inWord) words.add(b.toString());
        return Optional.of(words);
    }
}
