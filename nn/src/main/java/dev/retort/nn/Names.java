package dev.retort.nn;

import dev.retort.api.error.RetortConfigException;
/**
 * The characters a run's or an arm's name may hold. A name becomes a folder ({@code runs/<name>}), a prefix of every
 * {@code train.log} line and a cell of a results table, so it may hold letters and digits (any script), spaces and
 * {@value #PUNCTUATION} — no control characters (terminal escapes, line breaks), no invisible format characters
 * (bidirectional overrides), no path separators — and at most {@value #MAX_LENGTH} characters.
 */
public final class Names {
    /** The punctuation a name may hold besides letters, digits and spaces. */
    public static final String PUNCTUATION = "._-+=,@()[]#%";
    public static final int MAX_LENGTH = 120;

    private Names() {}

    /**
     * Returns {@code name} when it is one; otherwise a {@link RetortConfigException} (a user error) names {@code what}, the
     * first character that is not allowed (by its code, as it may not print) and what is allowed.
     */
    public static String check(String what, String name) {
        if (name.isBlank()) throw new RetortConfigException(what + " must not be empty");
        if (name.length() > MAX_LENGTH) throw new RetortConfigException(what + " has " + name.length() + " characters, at most " + MAX_LENGTH);
        for (int i = 0; i < name.length(); ) {
            int c = name.codePointAt(i);
            if (!(Character.isLetterOrDigit(c) || c == ' ' || PUNCTUATION.indexOf(c) >= 0)) {
                throw new RetortConfigException(String.format("%s holds the character U+%04X at position %d; a name may hold letters, digits,"
                        + " spaces and %s only (no control or invisible characters, no path separators)", what, c, i + 1, PUNCTUATION));
            }
            i += Character.charCount(c);
        }
        if (name.startsWith(".") || name.startsWith(" ") || name.endsWith(" ")) {
            throw new RetortConfigException(what + " '" + name + "' must not start with a dot or start or end with a space");
        }
        return name;
    }
}
